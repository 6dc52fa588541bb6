"""Time analyze() against the cheapest useful work on a 640x400 frame; prints ratios.

Baseline: crop, a 160 px JPEG thumbnail (what the live stream sends) and a bare
numpy "did the frame change" check. Each style is timed twice: on a contiguous
BGR frame, and on a BGR view of a BGRX buffer, which is what the X11 Composite
and Win32 sources hand out (OpenCV cannot read that view without a copy).

Besides wall-clock medians it prints the CPU time per call (`time.process_time`,
less sensitive to other load on the machine) and the page faults per call: on
this class of machine a fault on fresh memory costs a few microseconds, so a
frame-sized temporary allocated on every call can cost more than the arithmetic.

Run by hand: `.venv/bin/python bench/bench_analysis.py` (run it a few times: the
machine is noisy; compare the ratios, which are measured in the same run).
"""

from __future__ import annotations

import resource
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

from trade_analysis.analysis import AnalysisSettings, Crop, analyze, read_title, read_trend
from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]
REPEATS = 300


def frame(style: Style, seed: int) -> Pixels:
    scene = make_scene(np.random.default_rng(seed), style, Trend.UP)
    chart = RENDERERS["opencv"](scene)
    return np.ascontiguousarray(cv2.resize(chart, (640, 400)))


def as_captured(pixels: Pixels) -> Pixels:
    """The same picture as a BGR view of a BGRX buffer, like a window capture."""
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2BGRA)[:, :, :3]


def baseline(pixels: Pixels, previous: Pixels) -> bool:
    cropped = Crop().apply(pixels)
    height, width = cropped.shape[:2]
    thumb = cv2.resize(cropped, (160, round(160 * height / width)), interpolation=cv2.INTER_AREA)
    ok, _ = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return ok and not np.array_equal(pixels[::8, ::8], previous[::8, ::8])


def timed(work: Callable[[], object]) -> tuple[float, float, float, float]:
    """Median and p95 wall ms, CPU ms per call, page faults per call."""
    samples = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cpu = time.process_time()
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu) / REPEATS
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return (
        statistics.median(samples) * 1e3,
        sorted(samples)[int(0.95 * REPEATS)] * 1e3,
        cpu * 1e3,
        faults / REPEATS,
    )


def main() -> None:
    settings = AnalysisSettings()
    title = "TSLA $250.12 | Robinhood - Google Chrome"
    print(f"640x400 frame, {REPEATS} runs each, cv2 threads={cv2.getNumThreads()}")
    print(
        f"{'style':14} {'frame':8} {'baseline ms':>11} {'analyze ms':>10} {'p95':>6} "
        f"{'cpu ms':>6} {'faults':>6} {'trend ms':>8} {'ratio':>5}"
    )
    for style in (STYLES[0], STYLES[1], STYLES[-1]):
        contiguous, previous = frame(style, 1), frame(style, 2)
        for kind, pixels in (("bgr", contiguous), ("bgrx", as_captured(contiguous))):
            cropped = settings.crop.apply(pixels)
            base, _, _, _ = timed(lambda: baseline(pixels, previous))  # noqa: B023
            full, p95, cpu, faults = timed(lambda: analyze(pixels, title, settings))  # noqa: B023
            trend, _, _, _ = timed(lambda: read_trend(cropped))  # noqa: B023
            print(
                f"{style.name:14} {kind:8} {base:11.3f} {full:10.3f} {p95:6.3f} "
                f"{cpu:6.3f} {faults:6.1f} {trend:8.3f} {full / base:5.1f}"
            )
    title_ms, _, _, _ = timed(lambda: read_title(title))
    print(f"read_title alone: {title_ms * 1e3:.1f} us")


if __name__ == "__main__":
    main()
