"""How often the chart reader is right, per chart kind, on charts it has never seen.

Charts come from `tests/analysis/market.py`: line, area, candlestick and OHLC-bar
charts with random prices, palettes (inverted, hollow, monochrome), light and
dark themes and distractors, the trend known by construction. Two independent
renderers draw each one: matplotlib (Agg) and Debian's Chromium (an SVG page,
through Playwright). The reader's constants were tuned on seeds 0-99; the
default here starts at seed 100000, which nothing was ever tuned on.

    .venv/bin/python bench/bench_reader_accuracy.py [--seeds 40] [--first-seed 100000]

Prints, per kind, the confusion matrix (rows: truth; columns: reading) and the
accuracy, then the misses (seed, renderer, truth, reading, reason) so they can
be looked at. Target (issue 10): at least 97% per kind. With `--timing`, also
the median time of `read_trend` per kind on the charts scaled to 640x400 (the
frame size of the pipeline bench), to compare kinds with each other.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
from tests.analysis.market import (
    KINDS,
    LABELS,
    chromium_renderer,
    make_market,
    render_matplotlib,
)

from trade_analysis.analysis import read_trend

TARGET = 0.97


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=40, help="seeds per kind, label, renderer")
    parser.add_argument("--first-seed", type=int, default=100_000)
    parser.add_argument("--renderers", default="matplotlib,chromium")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--show-misses", type=int, default=20)
    parser.add_argument("--timing", action="store_true", help="read_trend ms per kind, 640x400")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    names = args.renderers.split(",")
    with ExitStack() as stack:
        renderers = {"matplotlib": render_matplotlib}
        if "chromium" in names:
            renderers["chromium"] = stack.enter_context(chromium_renderer())
        renderers = {name: renderers[name] for name in names}
        started = time.monotonic()
        confusion: dict[str, Counter[tuple[str, str]]] = {kind: Counter() for kind in KINDS}
        kinds_read: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        misses = []
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for kind in args.kinds.split(","):
            for seed in seeds:
                for label in LABELS:
                    market = make_market(seed, kind, label)
                    for name, render in renderers.items():
                        pixels = render(market)
                        reading = read_trend(pixels)
                        if args.timing:
                            timings[kind].append(time_reading(pixels))
                        confusion[kind][(label.value, reading.trend.value)] += 1
                        kinds_read[kind][reading.kind] += 1
                        if reading.trend is not label:
                            misses.append((kind, seed, name, label.value, reading, market))
    elapsed = time.monotonic() - started
    print(
        f"seeds {seeds.start}..{seeds.stop - 1}, renderers {', '.join(renderers)}, {elapsed:.0f} s"
    )
    worst = 1.0
    for kind in args.kinds.split(","):
        counts = confusion[kind]
        total = sum(counts.values())
        right = sum(counts[(label.value, label.value)] for label in LABELS)
        accuracy = right / total if total else 0.0
        worst = min(worst, accuracy)
        print(
            f"\n{kind}: {right}/{total} = {accuracy:.1%}   kind reported: {dict(kinds_read[kind])}"
        )
        print(f"  {'truth/read':12} {'up':>5} {'down':>5} {'none':>5}")
        for truth in LABELS:
            row = " ".join(f"{counts[(truth.value, read.value)]:5d}" for read in LABELS)
            print(f"  {truth.value:12} {row}")
    if args.timing:
        print("\nread_trend on 640x400, median ms: " + ", ".join(
            f"{kind} {statistics.median(ms):.2f}" for kind, ms in timings.items() if ms
        ))  # fmt: skip
    verdict = "met" if worst >= TARGET else "NOT met"
    print(f"\nworst kind: {worst:.1%} (target >= {TARGET:.0%}): {verdict}")
    for kind, seed, name, truth, reading, market in misses[: args.show_misses]:
        print(
            f"  miss {kind:7} seed {seed} {name:10} truth {truth:4} read {reading.trend.value:4} "
            f"as {reading.kind:7} {sorted(market.distractors)} {market.palette.name}: "
            f"{reading.reason}"
        )


def time_reading(pixels: object) -> float:
    """Best of five wall-clock readings (ms) of the chart scaled to 640x400."""
    frame = cv2.resize(pixels, (640, 400), interpolation=cv2.INTER_AREA)  # type: ignore[call-overload]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        read_trend(frame)
        best = min(best, time.perf_counter() - started)
    return best * 1e3


if __name__ == "__main__":
    main()
