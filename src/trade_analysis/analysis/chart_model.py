"""A small learned model that reads a chart's trend and kind from its pixels.

Rules fitted to the charts at hand did not carry over to charting libraries they
were never fitted on, so the decision is learned instead: a small convolutional
network, trained on a randomised corpus (many themes, overlays, panes, line
widths, sizes, crops and JPEG qualities, drawn by a procedural renderer and by
charting libraries; `training/chart_model/`), looks at the whole frame scaled to
`INPUT_WIDTH` x `INPUT_HEIGHT` and says `up`, `down` or `none`, and `line`,
`candles` or `bars`. The traced series of `trend.py` stays the explanation.

The weights ship in the package (`models/chart_model.onnx`) and run in OpenCV's
DNN module, which the reader already depends on: deterministic, on the CPU, a
millisecond or two a frame.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from trade_analysis.domain import Trend

INPUT_HEIGHT = 96
INPUT_WIDTH = 384
TRENDS = (Trend.UP, Trend.DOWN, Trend.NONE)
KINDS = ("line", "candles", "bars")
MODEL_FILE = "chart_model.onnx"


@dataclass(frozen=True)
class ModelReading:
    """What the model reads: a trend and a kind, each with its probability."""

    trend: Trend
    trend_probability: float
    kind: str
    kind_probability: float


class ChartReader(Protocol):
    """Anything that reads a frame as the chart model does (the model, or one made for a test)."""

    def read(self, pixels: npt.NDArray[Any]) -> ModelReading: ...


def model_input(pixels: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """The frame as the model sees it: BGR, INPUT_HEIGHT x INPUT_WIDTH, thin strokes kept.

    Scaling a large frame down by averaging would fade a one-pixel line to a
    trace of its colour (a 2560-pixel-wide chart is a sixth of a pixel per
    column at the input's width). So a frame more than twice the input's size is
    first pooled in blocks that keep, per colour, the value farthest from the
    background (`_ink_pooled`), and only the last factor of two or less is an
    average.
    """
    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    elif pixels.shape[2] == 4:
        pixels = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGRA2BGR)
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    block = (max(1, height // (2 * INPUT_HEIGHT)), max(1, width // (2 * INPUT_WIDTH)))
    if block != (1, 1):
        pixels = _ink_pooled(pixels, block)
    small = cv2.resize(pixels, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8)


def _ink_pooled(pixels: npt.NDArray[np.uint8], block: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Each block of rows x columns as one pixel: per colour, its maximum or its minimum,
    whichever lies farther from the background's value of that colour."""
    rows, columns = block
    height, width = pixels.shape[0] // rows * rows, pixels.shape[1] // columns * columns
    pixels = pixels[:height, :width]
    coarse = cv2.resize(pixels, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_NEAREST)
    background_colour = median_colour(np.asarray(coarse, np.uint8)).astype(np.uint8)  # truncated
    kernel = np.ones(block, np.uint8)
    anchor = (0, 0)  # the block's top-left corner, so sampling every block's corner covers it
    brightest = np.ascontiguousarray(cv2.dilate(pixels, kernel, anchor=anchor)[::rows, ::columns])
    darkest = np.ascontiguousarray(cv2.erode(pixels, kernel, anchor=anchor)[::rows, ::columns])
    # Per colour, the brightest value where it lies at least as far from the background
    # as the darkest does (whole-image OpenCV operations: a per-pixel numpy choice in
    # int16 cost more than the rest of the reading).
    background = np.empty_like(brightest)
    background[:] = background_colour
    brighter = cv2.compare(
        cv2.absdiff(brightest, background), cv2.absdiff(darkest, background), cv2.CMP_GE
    )
    kept_bright = cv2.bitwise_and(brightest, brighter)
    kept_dark = cv2.bitwise_and(darkest, cv2.bitwise_not(brighter))
    return np.asarray(cv2.bitwise_or(kept_bright, kept_dark), np.uint8)


def median_colour(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Per colour, the median of an HxWx3 uint8 image, exactly as `np.median` gives it,
    counted from each colour's histogram rather than sorted."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    count = flat.shape[0]
    middle = np.array([(count - 1) // 2 + 1, count // 2 + 1])
    colours = [
        np.searchsorted(np.cumsum(np.bincount(flat[:, channel], minlength=256)), middle)
        for channel in range(flat.shape[1])
    ]
    return np.array([(low + high) / 2 for low, high in colours], np.float64)


def input_tensor(small: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """A scaled frame as the network's input: each colour against the background's, in [-1, 1].

    The background is the median colour, so light and dark themes give the
    same picture of the ink: what differs from the background and how.
    """
    background = median_colour(small).astype(np.float32)
    centred = (small.astype(np.float32) - background) / 255.0
    return np.ascontiguousarray(centred.transpose(2, 0, 1)[np.newaxis])


class ChartModel:
    """A network in ONNX form; `read` is safe to call from several threads at once."""

    def __init__(self, onnx: bytes) -> None:
        self._onnx = np.frombuffer(onnx, np.uint8)
        self._local = threading.local()  # a cv2.dnn.Net runs one forward pass at a time
        self._net()  # a file OpenCV cannot load fails here, not at the first frame

    def _net(self) -> Any:
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.dnn.readNetFromONNX(self._onnx)
        return net

    def read(self, pixels: npt.NDArray[Any]) -> ModelReading:
        """The model's reading of a BGR, BGRA or grey frame of any size."""
        net = self._net()
        net.setInput(input_tensor(model_input(pixels)))
        logits = np.asarray(net.forward(), dtype=np.float64).reshape(-1)
        trend = _softmax(logits[: len(TRENDS)])
        kind = _softmax(logits[len(TRENDS) : len(TRENDS) + len(KINDS)])
        return ModelReading(
            trend=TRENDS[int(np.argmax(trend))],
            trend_probability=float(np.max(trend)),
            kind=KINDS[int(np.argmax(kind))],
            kind_probability=float(np.max(kind)),
        )


def _softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(logits - np.max(logits))
    return np.asarray(shifted / shifted.sum())


@cache
def shipped_model() -> ChartModel:
    """The network in the package's `models/` folder."""
    data = resources.files("trade_analysis.analysis").joinpath("models", MODEL_FILE).read_bytes()
    return ChartModel(data)
