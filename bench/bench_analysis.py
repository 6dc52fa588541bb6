"""Time analyze() against the cheapest useful work on a 640x400 frame; prints ratios.

Baseline: crop, a 160 px JPEG thumbnail (what the live stream sends) and a bare
numpy "did the frame change" check. Run by hand: `.venv/bin/python bench/bench_analysis.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis.charts import RENDERERS, STYLES, Style, make_scene

from trade_analysis.analysis import AnalysisSettings, Crop, analyze, read_title
from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]
REPEATS = 300


def frame(style: Style, seed: int) -> Pixels:
    scene = make_scene(np.random.default_rng(seed), style, Trend.UP)
    chart = RENDERERS["opencv"](scene)
    return np.ascontiguousarray(cv2.resize(chart, (640, 400)))


def baseline(pixels: Pixels, previous: Pixels) -> bool:
    cropped = Crop().apply(pixels)
    height, width = cropped.shape[:2]
    thumb = cv2.resize(cropped, (160, round(160 * height / width)), interpolation=cv2.INTER_AREA)
    ok, _ = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return ok and not np.array_equal(pixels[::8, ::8], previous[::8, ::8])


def timed(work: Callable[[], object]) -> tuple[float, float]:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3, sorted(samples)[int(0.95 * REPEATS)] * 1e3


def main() -> None:
    settings = AnalysisSettings()
    title = "TSLA $250.12 | Robinhood - Google Chrome"
    print(f"640x400 frame, {REPEATS} runs each, cv2 threads={cv2.getNumThreads()}")
    print(f"{'style':14} {'baseline ms':>12} {'analyze ms':>11} {'p95 ms':>7} {'ratio':>6}")
    for style in (STYLES[0], STYLES[1], STYLES[-1]):
        pixels, previous = frame(style, 1), frame(style, 2)
        base, _ = timed(lambda: baseline(pixels, previous))  # noqa: B023
        full, p95 = timed(lambda: analyze(pixels, title, settings))  # noqa: B023
        print(f"{style.name:14} {base:12.3f} {full:11.3f} {p95:7.3f} {full / base:6.1f}")
    title_ms, _ = timed(lambda: read_title(title))
    print(f"read_title alone: {title_ms * 1e3:.1f} us")


if __name__ == "__main__":
    main()
