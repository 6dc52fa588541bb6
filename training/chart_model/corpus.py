"""Labelled charts for the chart model, scaled as the model sees them, saved in chunks.

    python -m training.chart_model.corpus renderers --out DIR [--renderers tuned] [--seeds 0:100]
    python -m training.chart_model.corpus synthetic --out DIR [--count 20000] [--first-seed 0]

`renderers` draws with the charting libraries of tests/analysis/renderers; only the
tuned ones by default, and never a seed from EVALUATION_SEED on, so the held-out
libraries and the evaluation seeds stay unseen. Each chart is kept whole and once
more with a random cut off its left, top and bottom (a window framed differently);
the right edge is never cut, since the newest data decides the label.

`synthetic` draws with the procedural renderer of `synthetic.py`: many times as
many charts, far more varied looks.

Each chunk is an .npz of `images` (N x H x W x 3 BGR uint8, `model_input`),
`trend` and `kind` (indices into chart_model.TRENDS and KINDS) and `source`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trade_analysis.analysis.chart_model import KINDS, TRENDS, model_input
from trade_analysis.domain import Trend

CHUNK = 200
MARKET_KINDS = ("line", "area", "candles", "bars")
LABELS = (Trend.UP, Trend.DOWN, Trend.NONE)


class Chunks:
    """Collects labelled images and writes them CHUNK at a time."""

    def __init__(self, out: Path, prefix: str) -> None:
        self.out, self.prefix, self.written = out, prefix, 0
        self.images: list[npt.NDArray[np.uint8]] = []
        self.trends: list[int] = []
        self.kinds: list[int] = []
        self.sources: list[str] = []
        out.mkdir(parents=True, exist_ok=True)

    def add(self, pixels: npt.NDArray[Any], trend: Trend, kind: str, source: str) -> None:
        self.images.append(model_input(pixels))
        self.trends.append(TRENDS.index(trend))
        self.kinds.append(KINDS.index("line" if kind == "area" else kind))
        self.sources.append(source)
        if len(self.images) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.images:
            return
        path = self.out / f"{self.prefix}-{self.written:04d}.npz"
        np.savez_compressed(
            path,
            images=np.stack(self.images),
            trend=np.array(self.trends, np.int8),
            kind=np.array(self.kinds, np.int8),
            source=np.array(self.sources),
        )
        self.written += 1
        self.images, self.trends, self.kinds, self.sources = [], [], [], []


def left_top_bottom_cut(rng: np.random.Generator, pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
    height, width = pixels.shape[:2]
    left = int(rng.uniform(0, 0.15) * width)
    top = int(rng.uniform(0, 0.12) * height)
    bottom = height - int(rng.uniform(0, 0.12) * height)
    return pixels[top:bottom, left:]


def draw_renderers(out: Path, names: list[str], seeds: range, evaluation: bool = False) -> None:
    """Charts for training (tuned renderers, seeds under EVALUATION_SEED, each also cut), or,
    with `evaluation`, for measuring only: any renderer, seeds from EVALUATION_SEED, whole."""
    from tests.analysis.renderers import EVALUATION_SEED, TUNED, open_renderers
    from tests.analysis.renderers import KINDS as RENDERER_KINDS

    if evaluation and seeds.start < EVALUATION_SEED:
        raise SystemExit(f"evaluation seeds start at {EVALUATION_SEED}")
    if not evaluation and seeds.stop > EVALUATION_SEED:
        raise SystemExit(f"seeds from {EVALUATION_SEED} on are for evaluation only")
    if not evaluation and set(names) - set(TUNED):
        raise SystemExit(f"only the tuned renderers are trained on: {', '.join(TUNED)}")
    rng = np.random.default_rng(seeds.start)
    started = time.monotonic()
    with open_renderers(names) as renderers:
        for name, draw in renderers.items():
            chunks = Chunks(out, name)
            for seed in seeds:
                for kind in RENDERER_KINDS[name]:
                    for label in LABELS:
                        pixels = draw(seed, kind, label).pixels
                        chunks.add(pixels, label, kind, name)
                        if not evaluation:
                            chunks.add(left_top_bottom_cut(rng, pixels), label, kind, name)
                print(f"{name} seed {seed} ({time.monotonic() - started:.0f} s)", flush=True)
            chunks.flush()


def draw_synthetic(
    out: Path, count: int, first_seed: int, prefix: str, empty: bool, flat: bool, steady: bool
) -> None:
    from training.chart_model.synthetic import draw_chart

    chunks = Chunks(out, prefix)
    started = time.monotonic()
    for seed in range(first_seed, first_seed + count):
        chart = draw_chart(seed, empty, flat, steady)
        chunks.add(chart.pixels, chart.trend, chart.kind, "synthetic")
        if (seed - first_seed) % 1000 == 999:
            print(f"synthetic {seed - first_seed + 1} ({time.monotonic() - started:.0f} s)")
    chunks.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("renderers", "synthetic"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--renderers", default="tuned")
    parser.add_argument("--seeds", default="0:100")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--prefix", default="synthetic")
    parser.add_argument("--empty", action="store_true", help="charts without a price series")
    parser.add_argument("--flat", action="store_true", help="dead markets: series flat on the plot")
    parser.add_argument("--steady", action="store_true", help="even trends over the window")
    parser.add_argument("--evaluation", action="store_true", help="evaluation seeds, any renderer")
    args = parser.parse_args(argv)
    if args.what == "renderers":
        from tests.analysis.renderers import RENDERERS, TUNED, resolve

        chosen = {"tuned": list(TUNED), "all": list(RENDERERS)}
        names = chosen.get(args.renderers) or resolve(args.renderers.split(","))
        first, last = (int(part) for part in args.seeds.split(":"))
        draw_renderers(args.out, names, range(first, last), args.evaluation)
    else:
        draw_synthetic(
            args.out, args.count, args.first_seed, args.prefix, args.empty, args.flat, args.steady
        )


if __name__ == "__main__":
    sys.exit(main())
