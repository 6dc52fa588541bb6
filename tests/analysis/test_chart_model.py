"""The learned chart model: how it sees a frame, that it loads, reads and agrees with itself."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trade_analysis.analysis.chart_model import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    KINDS,
    ChartModel,
    ModelReading,
    _ink_pooled,
    input_tensor,
    median_colour,
    model_input,
    shipped_model,
)
from trade_analysis.analysis.trend import TrendReading, _decided, read_trend
from trade_analysis.domain import Trend


def rising(width: int = 640, height: int = 400, dark: bool = False) -> np.ndarray:
    canvas = np.full((height, width, 3), 20 if dark else 250, np.uint8)
    points = np.array([(10, height - 40), (width // 2, height - 120), (width - 10, 30)], np.int32)
    cv2.polylines(canvas, [points], False, (255, 120, 30), 2, cv2.LINE_AA)
    return canvas


def test_a_frame_is_scaled_to_the_input_size_whatever_its_format() -> None:
    frame = rising(1280, 800)
    for pixels in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), frame[:, :, 0]):
        small = model_input(pixels)
        assert small.shape == (INPUT_HEIGHT, INPUT_WIDTH, 3) and small.dtype == np.uint8


def test_the_input_is_the_ink_against_the_background() -> None:
    plain = np.full((INPUT_HEIGHT, INPUT_WIDTH, 3), 37, np.uint8)
    assert not input_tensor(plain).any()
    marked = plain.copy()
    marked[10, 20] = (37, 37, 255)
    tensor = input_tensor(marked)
    assert tensor.shape == (1, 3, INPUT_HEIGHT, INPUT_WIDTH)
    assert tensor[0, 2, 10, 20] == pytest.approx(218 / 255)
    assert np.count_nonzero(tensor) == 1


@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3))))
def test_the_median_colour_is_numpys_median_per_colour(pixels: np.ndarray) -> None:
    assert np.array_equal(median_colour(pixels), np.median(pixels.reshape(-1, 3), axis=0))


@given(
    hnp.arrays(np.uint8, (12, 18, 3), elements=st.integers(0, 255)),
    st.sampled_from([(2, 1), (1, 2), (3, 3), (2, 6)]),
)
def test_each_pooled_block_keeps_the_colour_farthest_from_the_background(
    pixels: np.ndarray, block: tuple[int, int]
) -> None:
    rows, columns = block
    pooled = _ink_pooled(pixels, block)
    coarse = cv2.resize(pixels, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_NEAREST)
    background = median_colour(coarse).astype(int)
    blocks = pixels.reshape(12 // rows, rows, 18 // columns, columns, 3).astype(int)
    brightest, darkest = blocks.max(axis=(1, 3)), blocks.min(axis=(1, 3))
    farther = np.where(brightest - background >= background - darkest, brightest, darkest)
    assert np.array_equal(pooled, farther)


def test_the_shipped_model_reads_a_plain_rise_as_up() -> None:
    for dark in (False, True):
        reading = shipped_model().read(rising(dark=dark))
        assert reading.trend is Trend.UP
        assert reading.kind == "line"
        assert 0.5 < reading.trend_probability <= 1.0


def test_reading_is_deterministic_and_safe_from_several_threads() -> None:
    frames = [rising(width, 360 + width // 8) for width in range(480, 1280, 50)]
    model = shipped_model()
    alone = [model.read(frame) for frame in frames]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(model.read, frames * 3))
    assert together == alone * 3


def test_a_file_that_is_not_a_model_is_refused_when_loaded() -> None:
    with pytest.raises(cv2.error):
        ChartModel(b"not an onnx file")


def traced(trend: Trend, found: bool = True) -> TrendReading:
    points = ((1.0, 2.0), (3.0, 1.0)) if found else ()
    reason = f"{trend} since turning point at 40%" if found else "no chart line found"
    confidence = 0.4 if found else 0.0
    return TrendReading(trend, confidence, reason, "line", points, (1.0, 2.0) if found else None)


def learned(trend: Trend, kind: str = "line") -> ModelReading:
    return ModelReading(trend, 0.9, kind, 0.8)


def test_the_model_tells_a_line_from_candles_and_the_trace_candles_from_bars() -> None:
    def kind(traced_kind: str, model_kind: str, found: bool = True) -> str:
        trace = replace(traced(Trend.UP, found), kind=traced_kind)
        return _decided(trace, learned(Trend.UP, kind=model_kind)).kind

    assert kind("candles", "bars") == "candles"  # the tracer saw them at full resolution
    assert kind("bars", "candles") == "bars"
    assert kind("candles", "line") == "line"  # dense candles read as a line, or the reverse
    assert kind("line", "bars") == "bars"
    assert kind("line", "line") == "line"
    assert kind("line", "candles", found=False) == "candles"  # nothing traced: the model's


def test_when_model_and_trace_agree_the_trace_explains_it() -> None:
    reading = _decided(traced(Trend.UP), learned(Trend.UP))
    assert (reading.trend, reading.kind, reading.confidence) == (Trend.UP, "line", 0.9)
    assert reading.reason.startswith("up since turning point at 40%")
    assert "chart model agrees (90%)" in reading.reason
    assert reading.turning_point == (1.0, 2.0)


def test_when_they_disagree_the_model_decides_and_the_reason_says_so() -> None:
    reading = _decided(traced(Trend.DOWN), learned(Trend.UP))
    assert reading.trend is Trend.UP
    assert reading.reason.startswith("up by the chart model (90%)")
    assert "alone reads: down since turning point" in reading.reason
    assert reading.turning_point is None
    assert reading.points  # the trace is still shown


def test_nothing_traced_and_no_move_seen_is_none_without_confidence() -> None:
    reading = _decided(traced(Trend.NONE, found=False), learned(Trend.NONE))
    assert (reading.trend, reading.confidence) == (Trend.NONE, 0.0)
    assert "no chart line found" in reading.reason


def test_read_trend_takes_another_model() -> None:
    class Always:
        def read(self, pixels: np.ndarray) -> ModelReading:
            return ModelReading(Trend.DOWN, 0.7, KINDS[2], 0.6)

    reading = read_trend(rising(), Always())
    assert (reading.trend, reading.kind) == (Trend.DOWN, KINDS[2])


def test_an_unsure_model_does_not_overrule_the_trace() -> None:
    unsure = ModelReading(Trend.UP, 0.6, "line", 0.9)
    reading = _decided(traced(Trend.DOWN), unsure)
    assert reading.trend is Trend.DOWN
    assert reading.reason.endswith("the chart model is unsure (up at 60%)")
    assert reading.turning_point == (1.0, 2.0)


def test_a_sure_none_of_the_model_overrules_a_traced_move() -> None:
    """A flat tail the tracer followed as a small move is the model's call when it is sure."""
    reading = _decided(traced(Trend.DOWN), learned(Trend.NONE))
    assert (reading.trend, reading.confidence) == (Trend.NONE, 0.9)
    assert reading.reason.startswith("none by the chart model (90%)")
    assert reading.turning_point is None
