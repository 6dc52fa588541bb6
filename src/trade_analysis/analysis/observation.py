"""One frame in, one Observation out: crop, read the chart, read the title."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy.typing as npt

from trade_analysis.analysis.crop import Crop
from trade_analysis.analysis.ocr import read_price_from_image
from trade_analysis.analysis.title import compile_title_pattern, read_title
from trade_analysis.analysis.trend import TrendReading, read_trend
from trade_analysis.domain import Trend


@dataclass(frozen=True)
class Observation:
    name: str
    ticker: str | None
    price: Decimal | None
    trend: Trend
    confidence: float
    reason: str
    kind: str = "line"  # line (area charts too), candles or bars


@dataclass(frozen=True)
class AnalysisSettings:
    """Per-bot analysis settings; a bad title pattern is refused when they are made.

    `ocr`: read the price from the chart's header when the title has none (needs
    the `ocr` extra; without it the price simply stays unknown).
    """

    crop: Crop = field(default_factory=Crop)
    line_detect: bool = True
    title_pattern: str | None = None
    ocr: bool = False

    def __post_init__(self) -> None:
        if self.title_pattern is not None:
            compile_title_pattern(self.title_pattern)


def analyze(pixels: npt.NDArray[Any], title: str, settings: AnalysisSettings) -> Observation:
    """Read one captured window. Raises InvalidCrop if the crop leaves no pixels.

    Call it for frames that changed: with `settings.ocr` a title without a price
    costs a text recognition (tens of milliseconds).
    """
    reading = read_title(title, settings.title_pattern)
    if settings.line_detect:
        chart = read_trend(settings.crop.read_region(pixels))
    else:
        chart = TrendReading(Trend.NONE, 0.0, "line detection off")
    price = reading.price
    if price is None and settings.ocr:
        price = read_price_from_image(settings.crop.apply(pixels))
    return Observation(
        name=reading.name,
        ticker=reading.ticker,
        price=price,
        trend=chart.trend,
        confidence=chart.confidence,
        reason=chart.reason,
        kind=chart.kind,
    )


def read_trace(pixels: npt.NDArray[Any], crop: Crop) -> dict[str, Any]:
    """The chart reading of a whole frame with the series it traced, for a dashboard.

    Points are (x, y) pixels of the whole frame (the crop's offset added back);
    `area` is the region read ([left, top, right, bottom] pixels): the crop's
    when one was chosen, else the whole frame, whose plot area the reader finds.
    """
    height, width = pixels.shape[:2]
    left, top, right, bottom = crop.region(width, height)
    reading = read_trend(pixels[top:bottom, left:right])

    def shifted(point: tuple[float, float]) -> list[float]:
        return [round(point[0] + left, 1), round(point[1] + top, 1)]

    turning = reading.turning_point
    return {
        "width": width,
        "height": height,
        "crop": {"left": crop.left, "right": crop.right, "top": crop.top, "bottom": crop.bottom},
        "area": [left, top, right, bottom],
        "kind": reading.kind,
        "trend": reading.trend.value,
        "confidence": reading.confidence,
        "reason": reading.reason,
        "points": [shifted(point) for point in reading.points],
        "turning_point": shifted(turning) if turning is not None else None,
    }
