"""Read the big price a broker prints in a chart's header, for titles that have none.

Optional: needs the `ocr` extra (`pip install trade-analysis[ocr]`), which brings
RapidOCR and onnxruntime; RapidOCR's recognition model ships inside its wheel, so
this works offline. Without them `ocr_available()` is False and every read is None.

Only the top-left header band of the (cropped) chart is looked at, where brokers
print the price large. Text lines there are found with OpenCV (strong pixels,
joined letter to letter, boxes of connected pieces, tallest first); only those
crops go through the recognition model, never the whole frame, and the text
detection model is not used at all. A read costs a few tens of milliseconds,
so callers do it only for frames that changed.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from decimal import Decimal
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from trade_analysis.analysis.title import first_price
from trade_analysis.analysis.trend import modal_colour

logger = logging.getLogger(__name__)

Pixels = npt.NDArray[np.uint8]

# Where the price is: a line of text in the top band, starting in its left part.
HEADER_HEIGHT_SHARE = 0.3
HEADER_WIDTH_SHARE = 0.7
# Text lines read at most, tallest first (the big price is the tallest text).
_MAX_LINES = 3
# Lines shorter than this (pixels) are labels, not the price.
_MIN_TEXT_HEIGHT = 10
# A price is a few characters: its line is at least this much wider than tall,
# and no character is much wider than tall.
_MIN_LINE_ASPECT = 1.5
_MAX_GLYPH_ASPECT = 2.0
# Strong = at least this share of the strongest contrast in the header.
_STRONG_SHARE = 0.5
_MIN_CONTRAST = 40
# Recognised text scoring below this is not trusted.
_MIN_SCORE = 0.6

_engine: Any = None
_engine_lock = threading.Lock()


def ocr_available() -> bool:
    """True when the OCR engine (the `ocr` extra) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("rapidocr", "onnxruntime"))


def read_price_from_image(pixels: npt.NDArray[Any]) -> Decimal | None:
    """The price printed in the header of a chart image (HxWx3 BGR uint8), or None.

    None too when the OCR engine is not installed.
    """
    if pixels.ndim != 3 or pixels.shape[2] < 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be HxWx3 uint8, got {pixels.shape} {pixels.dtype}")
    if not ocr_available():
        return None
    header = header_region(pixels)
    for line in text_lines(header)[:_MAX_LINES]:
        text, score = _recognise(line)
        if score < _MIN_SCORE:
            continue
        price = first_price(text)
        if price is not None:
            return price
    return None


def header_region(pixels: npt.NDArray[Any]) -> Pixels:
    """A contiguous BGR copy of the top band where the price is printed."""
    rows = max(1, round(pixels.shape[0] * HEADER_HEIGHT_SHARE))
    return np.ascontiguousarray(pixels[:rows, :, :3])


def text_lines(header: Pixels) -> list[Pixels]:
    """Crops of the text lines in the header, tallest first, with a margin around each."""
    background, _ = modal_colour(header)
    scalar = (*(float(round(c)) for c in background), 0.0)
    diff = cv2.absdiff(header, scalar)  # type: ignore[call-overload]  # stubs omit Scalar
    contrast = np.max(diff, axis=2)
    strongest = int(contrast.max())
    if strongest < _MIN_CONTRAST:
        return []
    mask = (contrast >= max(_MIN_CONTRAST, _STRONG_SHARE * strongest)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    # Glyphs (the "$" or a digit is as tall as the line), tallest first.
    glyphs = sorted(
        (tuple(int(v) for v in box[:4]) for box in stats[1:count] if box[3] >= _MIN_TEXT_HEIGHT),
        key=lambda box: box[3],
        reverse=True,
    )
    height, width = header.shape[:2]
    lines: list[Pixels] = []
    spans: list[tuple[int, int, int, int]] = []
    for left, top, span, tall in glyphs:
        if len(lines) == _MAX_LINES:
            break
        if left >= HEADER_WIDTH_SHARE * width:
            continue  # the price starts on the left; its line may run further right
        if any(y0 <= top < y1 and x0 <= left < x1 for x0, y0, x1, y1 in spans):
            continue  # a glyph of a line already taken
        if span > _MAX_GLYPH_ASPECT * tall:
            continue  # a stroke of the chart line or a rule, not a character
        x0, x1 = _line_extent(mask[top : top + tall], left, left + span, gap=tall)
        bottom = top + tall
        characters = sum(
            1
            for x, y, w, h in glyphs
            if x0 <= x and x + w <= x1 and top <= y and y + h <= bottom and 2 * h >= tall
        )
        if x1 - x0 < _MIN_LINE_ASPECT * tall or characters < 2:
            continue  # a price is a few characters side by side
        margin = max(2, tall // 4)
        box = (max(0, x0 - margin), max(0, top - margin), min(width, x1 + margin))
        spans.append((*box[:2], box[2], min(height, top + tall + margin)))
        lines.append(header[box[1] : min(height, top + tall + margin), box[0] : box[2]])
    return lines


def _line_extent(band: Pixels, left: int, right: int, gap: int) -> tuple[int, int]:
    """Columns [x0, x1) of the text around [left, right) in `band`, up to a gap wider than `gap`."""
    columns = np.flatnonzero(band.any(axis=0))
    breaks = np.flatnonzero(np.diff(columns) > gap)
    starts = np.concatenate(([columns[0]], columns[breaks + 1]))
    ends = np.concatenate((columns[breaks], [columns[-1]]))
    index = int(np.searchsorted(ends, left))  # the run holding the glyph
    return int(starts[index]), max(int(ends[index]) + 1, right)


def _recognise(line: Pixels) -> tuple[str, float]:
    engine = _get_engine()
    with _engine_lock:  # the engine keeps per-call settings on itself
        result = engine(np.ascontiguousarray(line))
    texts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    if not texts:
        return "", 0.0
    return " ".join(str(text) for text in texts), float(min(scores, default=0.0))


def _get_engine() -> Any:
    global _engine
    with _engine_lock:
        if _engine is None:
            # Imported by name: the optional extra may be missing (type checkers too).
            engine_class = importlib.import_module("rapidocr").RapidOCR
            # Recognition only, on one thread: the crops are small, and the other
            # windows' workers need the cores more.
            _engine = engine_class(
                params={
                    "Global.use_det": False,
                    "Global.use_cls": False,
                    "Global.use_rec": True,
                    "Global.log_level": "warning",
                    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
            logger.info("OCR engine loaded (RapidOCR, recognition model from its package)")
        return _engine
