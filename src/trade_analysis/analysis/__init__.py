"""Pure analysis of a captured window: title -> ticker/price, chart -> trend."""

from __future__ import annotations

from trade_analysis.analysis.crop import Crop, CropSettings, InvalidCrop
from trade_analysis.analysis.observation import (
    AnalysisSettings,
    Observation,
    analyze,
    read_trace,
)
from trade_analysis.analysis.ocr import ocr_available, read_price_from_image
from trade_analysis.analysis.title import (
    InvalidTitlePattern,
    TitleReading,
    compile_title_pattern,
    read_title,
)
from trade_analysis.analysis.trend import TrendReading, opencv_view, read_trend

__all__ = [
    "AnalysisSettings",
    "Crop",
    "CropSettings",
    "InvalidCrop",
    "InvalidTitlePattern",
    "Observation",
    "TitleReading",
    "TrendReading",
    "analyze",
    "compile_title_pattern",
    "ocr_available",
    "opencv_view",
    "read_price_from_image",
    "read_title",
    "read_trace",
    "read_trend",
]
