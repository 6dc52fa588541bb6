"""A Tk window that draws a Robinhood-style line chart, titled like a broker tab.

Run it as ``python -m trade_analysis.demo.chart_window --title "AAPL 175.23 - Robinhood"
--trend up --x 10 --y 10 --width 640 --height 400 [--animate]``.

The series is deterministic for a given ``--seed`` and ``--trend``: a zig-zag history, a
last turning point, then a final segment that goes ``up``, ``down`` or stays ``flat``.
The price line colour is chosen with ``--color``, independently of the trend, so a test
can tell "reads the line's shape" from "reads the line's colour". With ``--animate`` the
series keeps growing about once a second (still in the given trend) and the first number
of the title follows the last price, so the window looks alive. With ``--phases
up,flat,down,flat`` and ``--phase-seconds 120`` the trend of the growing segment moves
through those phases in turn (a new turning point at each change), so a watcher keeps
seeing new trends and keeps trading.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

logger = logging.getLogger(__name__)

TrendName = Literal["up", "down", "flat"]
TRENDS: tuple[TrendName, ...] = ("up", "down", "flat")

THEMES: dict[str, dict[str, str]] = {
    "light": {"background": "#ffffff", "grid": "#e3e3e3", "reference": "#9a9a9a"},
    "dark": {"background": "#000000", "grid": "#262626", "reference": "#6b6b6b"},
}
DEFAULT_COLOR = "#00c805"  # Robinhood's green; pass --color for any other line colour

_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def price_in_title(title: str, default: float = 100.0) -> float:
    """The first number in ``title`` (thousands commas allowed), else ``default``."""
    match = _NUMBER.search(title)
    if match is None:
        return default
    return float(match.group(0).replace(",", ""))


def title_with_price(title: str, price: float) -> str:
    """``title`` with its first number replaced by ``price`` (two decimals)."""
    if _NUMBER.search(title) is None:
        return title
    return _NUMBER.sub(f"{price:.2f}", title, count=1)


@dataclass
class ChartSeries:
    """Prices whose last segment (after the last turning point) follows ``trend``."""

    trend: TrendName
    last_price: float
    seed: int = 7
    history: int = 48
    tail: int = 24
    values: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.trend not in TRENDS:
            raise ValueError(f"trend must be one of {TRENDS}, not {self.trend!r}")
        self._rng = random.Random(self.seed)
        self.values = self._build()

    @property
    def step(self) -> float:
        """Price change per point in the final segment (0 when flat)."""
        return {"up": 1.0, "down": -1.0, "flat": 0.0}[self.trend]

    def _build(self) -> list[float]:
        rng = self._rng
        # Zig-zag history: alternating legs; the leg before the tail goes against the
        # tail (or down, for flat) so the turning point is a clear extreme.
        legs: list[int] = []
        remaining = self.history
        while remaining > 0:
            leg = rng.randint(7, 13)
            if remaining - leg < 7:  # no short leg at the end: it would add a turning point
                leg = remaining
            legs.append(leg)
            remaining -= leg
        last_leg_up = self.trend == "down"
        directions = [(len(legs) - 1 - i) % 2 == 0 for i in range(len(legs))]
        if not last_leg_up:
            directions = [not d for d in directions]
        values = [0.0]
        for leg, going_up in zip(legs, directions, strict=True):
            sign = 1.0 if going_up else -1.0
            for _ in range(leg):
                values.append(values[-1] + sign * rng.uniform(0.6, 1.6))
        for _ in range(self.tail):
            values.append(values[-1] + self._tail_step())
        return self._anchor(values)

    def _tail_step(self) -> float:
        if self.trend == "flat":
            return self._rng.uniform(-0.03, 0.03)
        return self.step * self._rng.uniform(0.5, 1.2)

    def _anchor(self, values: list[float]) -> list[float]:
        """Scale moves to ~0.2% of the price and shift so the series ends at ``last_price``."""
        unit = max(self.last_price, 1.0) * 0.002
        end = values[-1]
        return [self.last_price + (v - end) * unit for v in values]

    def set_trend(self, trend: TrendName) -> None:
        """Grow in another trend from the next point on (the last point turns)."""
        if trend not in TRENDS:
            raise ValueError(f"trend must be one of {TRENDS}, not {trend!r}")
        self.trend = trend

    def extend(self) -> float:
        """Append one more point in the trend; returns the new last price."""
        unit = max(self.values[-1], 1.0) * 0.002
        self.values.append(self.values[-1] + self._tail_step() * unit)
        if len(self.values) > self.history + self.tail + 40:
            del self.values[0]
        return self.values[-1]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trade_analysis.demo.chart_window",
        description="Open a window drawing a broker-style line chart.",
    )
    parser.add_argument("--title", default="AAPL 175.23 - Robinhood")
    parser.add_argument("--trend", choices=TRENDS, default="up")
    parser.add_argument("--color", default=DEFAULT_COLOR, help="price line colour (#rrggbb)")
    parser.add_argument("--theme", choices=sorted(THEMES), default="light")
    parser.add_argument("--x", type=int, default=10)
    parser.add_argument("--y", type=int, default=10)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--line-width", type=int, default=3)
    parser.add_argument("--grid", action="store_true", help="draw a light grid")
    parser.add_argument("--reference", action="store_true", help="dotted reference line")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--animate", action="store_true", help="extend the series every second")
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument(
        "--phases",
        type=_phases,
        default=None,
        help="with --animate: trends to move through in turn, e.g. up,flat,down,flat",
    )
    parser.add_argument("--phase-seconds", type=float, default=120.0)
    return parser.parse_args(argv)


def _phases(text: str) -> list[TrendName]:
    phases = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [phase for phase in phases if phase not in TRENDS]
    if not phases or unknown:
        raise argparse.ArgumentTypeError(f"phases must be a list of {', '.join(TRENDS)}")
    return phases  # type: ignore[return-value]


def phase_at(phases: Sequence[TrendName], elapsed: float, phase_seconds: float) -> TrendName:
    """The phase in effect `elapsed` seconds after the start (phases repeat)."""
    return phases[int(max(0.0, elapsed) // max(phase_seconds, 0.001)) % len(phases)]


def _geometry(width: int, height: int, x: int, y: int) -> str:
    """A Tk geometry string; ``+-20`` places the window 20 px left of the screen."""
    return f"{width}x{height}+{x}+{y}"


class ChartWindow:
    """The Tk window; separate from ``main`` so it can be driven from a test."""

    def __init__(self, args: argparse.Namespace) -> None:
        import tkinter as tk  # imported here: the module must import without a display

        self.args = args
        self.theme = THEMES[args.theme]
        first = args.phases[0] if args.phases else args.trend
        self.series = ChartSeries(first, price_in_title(args.title), seed=args.seed)
        self.root = tk.Tk(className="TradeAnalysisChart")
        self.root.title(args.title)
        self.root.geometry(_geometry(args.width, args.height, args.x, args.y))
        self.root.configure(background=self.theme["background"])
        self.canvas = tk.Canvas(
            self.root,
            width=args.width,
            height=args.height,
            background=self.theme["background"],
            highlightthickness=0,
            borderwidth=0,
        )
        self.canvas.pack(fill="both", expand=True)
        self.canvas.bind("<Configure>", lambda _event: self.draw())
        self._started = time.monotonic()
        if args.animate:
            self.root.after(args.interval_ms, self._tick)

    def draw(self) -> None:
        canvas = self.canvas
        canvas.delete("all")
        width = max(canvas.winfo_width(), 2)
        height = max(canvas.winfo_height(), 2)
        pad_x, pad_y = width * 0.04, height * 0.1
        values = self.series.values
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        if self.args.grid:
            for i in range(1, 5):
                gy = height * i / 5
                canvas.create_line(0, gy, width, gy, fill=self.theme["grid"])
            for i in range(1, 8):
                gx = width * i / 8
                canvas.create_line(gx, 0, gx, height, fill=self.theme["grid"])
        if self.args.reference:
            ref_y = pad_y + (high - values[0]) / span * (height - 2 * pad_y)
            canvas.create_line(
                0, ref_y, width, ref_y, fill=self.theme["reference"], dash=(2, 4), width=1
            )
        points: list[float] = []
        count = len(values)
        for i, value in enumerate(values):
            points.append(pad_x + i * (width - 2 * pad_x) / (count - 1))
            points.append(pad_y + (high - value) / span * (height - 2 * pad_y))
        canvas.create_line(
            *points, fill=self.args.color, width=self.args.line_width, joinstyle="round"
        )

    def _tick(self) -> None:
        if self.args.phases:
            elapsed = time.monotonic() - self._started
            self.series.set_trend(phase_at(self.args.phases, elapsed, self.args.phase_seconds))
        price = self.series.extend()
        self.root.title(title_with_price(self.args.title, price))
        self.draw()
        self.root.after(self.args.interval_ms, self._tick)

    def run(self) -> None:
        logger.info("chart window %r open (trend %s)", self.args.title, self.args.trend)
        self.root.mainloop()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ChartWindow(_parse_args(argv)).run()


if __name__ == "__main__":
    main()
