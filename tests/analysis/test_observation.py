from __future__ import annotations

from decimal import Decimal

import cv2
import numpy as np
import pytest

import trade_analysis.analysis as analysis
from trade_analysis.analysis import (
    AnalysisSettings,
    Crop,
    InvalidCrop,
    InvalidTitlePattern,
    Observation,
    analyze,
)
from trade_analysis.domain import Trend


def _window(rising: bool) -> np.ndarray:
    """A chart on the left, and a busy order panel in the right 16% the default crop cuts."""
    pixels = np.full((400, 640, 3), 255, np.uint8)
    start, end = ((10, 350), (520, 60)) if rising else ((10, 60), (520, 350))
    cv2.line(pixels, start, end, (5, 200, 0), 2, cv2.LINE_AA)
    for y in range(0, 400, 8):  # a falling staircase of text-like bars in the panel
        cv2.line(pixels, (560, y), (630, y), (0, 80, 255), 3)
    return pixels


def test_analyze_reads_title_and_chart() -> None:
    observation = analyze(_window(rising=True), "AAPL 175.23 - MyApp", AnalysisSettings())
    assert observation == Observation(
        name="AAPL",
        ticker="AAPL",
        price=Decimal("175.23"),
        trend=Trend.UP,
        confidence=observation.confidence,
        reason=observation.reason,
    )
    assert observation.confidence > 0.5


def test_crop_is_applied_before_reading() -> None:
    settings = AnalysisSettings(crop=Crop(left=0.0, right=0.5, top=0.0, bottom=0.0))
    assert analyze(_window(rising=False), "NVDA", settings).trend is Trend.DOWN


def test_line_detection_off() -> None:
    observation = analyze(_window(rising=True), "TSLA $250", AnalysisSettings(line_detect=False))
    assert (observation.trend, observation.reason) == (Trend.NONE, "line detection off")
    assert observation.ticker == "TSLA"


def test_title_pattern_setting() -> None:
    settings = AnalysisSettings(title_pattern=r"sym=(?P<ticker>\w+)")
    assert analyze(_window(rising=True), "sym=abc 12", settings).ticker == "ABC"


def test_bad_settings_are_refused_when_made() -> None:
    with pytest.raises(InvalidTitlePattern):
        AnalysisSettings(title_pattern="(?P<ticker>")
    with pytest.raises(InvalidCrop):
        AnalysisSettings(crop=Crop(left=0.9, right=0.2))


def test_package_exports() -> None:
    for name in analysis.__all__:
        assert hasattr(analysis, name)
