"""Reading a chart image: what an upload's image and `trade-analysis analyze` are read by.

Light on purpose (the reader, OpenCV and numpy, no services): the command line
imports it without starting anything.
"""

from __future__ import annotations

import cv2
import numpy as np

from trade_analysis.analysis import AnalysisSettings, InvalidCrop, Observation, analyze
from trade_analysis.application.errors import InvalidField


def read_chart(image: bytes | None, title: str, settings: AnalysisSettings) -> Observation:
    """What the chart reader makes of an image (PNG, JPEG or WebP) and a window title; the
    title alone without an image. InvalidField names the part at fault ("file", "crop")."""
    pixels: np.ndarray | None = np.full((2, 2, 3), 255, np.uint8)  # no chart to read
    if image is not None:
        pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise InvalidField("file", "file could not be decoded as an image")
    try:
        return analyze(pixels, title, settings)
    except InvalidCrop as exc:
        raise InvalidField("crop", str(exc)) from None
