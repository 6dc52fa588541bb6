"""Pure analysis of a captured window: title -> ticker/price, chart -> trend."""

from __future__ import annotations

from trade_analysis.analysis.crop import Crop, InvalidCrop
from trade_analysis.analysis.observation import AnalysisSettings, Observation, analyze
from trade_analysis.analysis.title import (
    InvalidTitlePattern,
    TitleReading,
    compile_title_pattern,
    read_title,
)
from trade_analysis.analysis.trend import TrendReading, read_trend

__all__ = [
    "AnalysisSettings",
    "Crop",
    "InvalidCrop",
    "InvalidTitlePattern",
    "Observation",
    "TitleReading",
    "TrendReading",
    "analyze",
    "compile_title_pattern",
    "read_title",
    "read_trend",
]
