"""Synthetic market charts (line, area, candles, OHLC bars) whose trend is known by construction.

A `Market` is decided first (prices, palette, size, distractors, all from one
random generator); then two independent renderers draw the same geometry:
matplotlib's Agg rasteriser and Debian's Chromium rendering an SVG page
(driven by Playwright). Colours never follow the direction: up candles are
green, red, blue, hollow or the same colour as down ones, at random.

The label is the construction: `up`/`down` charts end with a leg that is
still moving (the last tenth of the chart moves at least a tenth of the
range); `none` charts end with a flat stretch (a fifth to two fifths of the
chart, noise within 1.5% of the range) after a move either way.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from trade_analysis.domain import Trend

Floats = npt.NDArray[np.float64]
Pixels = npt.NDArray[np.uint8]
Rgb = tuple[int, int, int]  # RGB, as both renderers take it

KINDS = ("line", "area", "candles", "bars")
LABELS = (Trend.UP, Trend.DOWN, Trend.NONE)


@dataclass(frozen=True)
class Palette:
    name: str
    up: Rgb
    down: Rgb
    hollow_up: bool = False


PALETTES = (
    Palette("green-red", (8, 153, 129), (242, 54, 69)),
    Palette("red-green", (235, 60, 60), (20, 170, 90)),  # inverted, as in East Asian markets
    Palette("blue-orange", (33, 120, 220), (245, 130, 20)),
    Palette("hollow", (30, 160, 90), (220, 60, 60), hollow_up=True),
    Palette("mono", (60, 60, 60), (60, 60, 60)),
    Palette("mono-hollow", (60, 60, 60), (60, 60, 60), hollow_up=True),
)
NOTICE = "This page is a quote feed: prices are shown as published and may be delayed."
LIGHT = ((255, 255, 255), (250, 250, 247), (240, 243, 250))
DARK = ((19, 23, 34), (0, 0, 0), (30, 30, 33))
LINE_COLOURS = ((41, 98, 255), (0, 200, 5), (255, 80, 0), (156, 39, 176), (230, 180, 0))
DISTRACTORS = (
    "moving_average", "volume", "grid", "price_labels", "header",
    "previous_close", "crosshair", "last_price", "side_panel",
)  # fmt: skip


@dataclass(frozen=True)
class Market:
    kind: str
    label: Trend
    opens: Floats
    highs: Floats
    lows: Floats
    closes: Floats
    width: int
    height: int
    dark: bool
    background: Rgb
    palette: Palette
    line_colour: Rgb
    line_width: float
    distractors: frozenset[str]
    header: str
    seed: int

    @property
    def foreground(self) -> Rgb:
        mono = (220, 220, 220) if self.dark else self.palette.up
        return mono if self.palette.name.startswith("mono") else self.palette.up


def closes_for(rng: np.random.Generator, label: Trend, count: int) -> Floats:
    """Closes whose last stretch is, by construction, `label`."""
    walk = np.cumsum(rng.normal(0, 1, count))
    span = max(float(np.ptp(walk)), 1.0)
    if label is Trend.NONE:
        tail = int(count * rng.uniform(0.2, 0.4))
        head = count - tail
        move = rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.2) * span
        start = walk[: head - head // 3]
        leg = start[-1] + np.linspace(0, move, head // 3 + 1)[1:]
        body = np.concatenate((start, leg))
        flat = body[-1] + rng.normal(0, 0.005 * float(np.ptp(body)), tail)
        return np.concatenate((body, flat))
    leg_count = int(count * rng.uniform(0.15, 0.35))
    sign = 1.0 if label is Trend.UP else -1.0
    size = rng.uniform(0.8, 1.5) * span
    steps = np.linspace(0, sign * size, leg_count + 1)[1:]
    noise = rng.normal(0, 0.03 * size, leg_count)
    base = walk[: count - leg_count]
    return np.concatenate((base, base[-1] + steps + noise))


def make_market(seed: int, kind: str, label: Trend) -> Market:
    rng = np.random.default_rng([seed, KINDS.index(kind), LABELS.index(label)])
    count = int(rng.integers(40, 110) if kind in ("candles", "bars") else rng.integers(60, 240))
    closes = closes_for(rng, label, count)
    opens = np.concatenate(([closes[0]], closes[:-1]))
    scale = max(float(np.ptp(closes)), 1e-3)
    wick = np.abs(rng.normal(0, 0.03 * scale, (2, count)))
    dark = bool(rng.integers(2))
    backgrounds = DARK if dark else LIGHT
    chosen = {name for name in DISTRACTORS if rng.random() < 0.35}
    if kind in ("line", "area"):
        chosen.discard("moving_average")
    return Market(
        kind=kind,
        label=label,
        opens=opens,
        highs=np.maximum(opens, closes) + wick[0],
        lows=np.minimum(opens, closes) - wick[1],
        closes=closes,
        width=int(rng.integers(480, 900)),
        height=int(rng.integers(300, 560)),
        dark=dark,
        background=backgrounds[int(rng.integers(len(backgrounds)))],
        palette=PALETTES[int(rng.integers(len(PALETTES)))],
        line_colour=LINE_COLOURS[int(rng.integers(len(LINE_COLOURS)))],
        line_width=float(rng.uniform(1.0, 3.0)),
        distractors=frozenset(chosen),
        header=f"{rng.choice(['AAPL', 'EURUSD', 'BTCUSD', 'NVDA'])} {closes[-1] * 3 + 500:,.2f}",
        seed=seed,
    )


# -- geometry, shared by both renderers ----------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One thing to draw, in pixels: rect (x, y, w, h), line (x1, y1, x2, y2),
    polyline / polygon (xs, ys), text (x, y, size, string)."""

    kind: str
    data: tuple[Any, ...]
    colour: Rgb
    alpha: float = 1.0
    width: float = 1.0
    fill: bool = True
    dashed: bool = False


def _muted(market: Market) -> Rgb:
    return (120, 123, 134) if market.dark else (150, 150, 150)


def _grid(market: Market) -> Rgb:
    return (42, 46, 57) if market.dark else (230, 232, 236)


def layout(market: Market) -> list[Shape]:
    width, height = market.width, market.height
    panel = 0.22 * width if "side_panel" in market.distractors else 0.0
    right = width - panel - (70 if "price_labels" in market.distractors else 12)
    above = {"header", "notice"} & market.distractors
    left, top = 12.0, (50.0 if above else 14.0)
    bottom = height - (0.24 * height if "volume" in market.distractors else 18.0)
    low, high = float(market.lows.min()), float(market.highs.max())
    high, low = high + 0.04 * (high - low + 1e-9), low - 0.04 * (high - low + 1e-9)

    def y_of(value: Floats | float) -> Any:
        return bottom - (np.asarray(value) - low) / (high - low) * (bottom - top)

    count = market.closes.size
    xs = left + (np.arange(count) + 0.5) * (right - left) / count
    step = (right - left) / count
    shapes: list[Shape] = []
    muted, grid = _muted(market), _grid(market)
    if "grid" in market.distractors:
        for share in np.linspace(0.1, 0.9, 5):
            y = top + share * (bottom - top)
            shapes.append(Shape("line", (0, y, width - panel, y), grid))
        for share in np.linspace(0.1, 0.9, 6):
            x = left + share * (right - left)
            shapes.append(Shape("line", (x, 0, x, height), grid))
    if "volume" in market.distractors:
        volumes = (
            np.abs(np.diff(np.concatenate(([0], market.closes))))
            + 0.3 * np.ptp(market.closes) / count * 4
        )
        volumes = volumes / volumes.max() * 0.2 * height
        for x, v, o, c in zip(xs, volumes, market.opens, market.closes, strict=True):
            colour = market.palette.up if c >= o else market.palette.down
            shapes.append(
                Shape("rect", (x - 0.35 * step, height - v - 4, 0.7 * step, v), colour, 0.4)
            )
    if "previous_close" in market.distractors:
        y = float(y_of(market.closes[count // 3]))
        shapes.append(Shape("line", (0, y, right, y), muted, dashed=True))
    _draw_series(market, shapes, xs, step, y_of, bottom)
    if "moving_average" in market.distractors:
        window = 9
        padded = np.concatenate((np.full(window - 1, market.closes[0]), market.closes))
        average = np.convolve(padded, np.ones(window) / window, mode="valid")
        colour = (255, 152, 0) if market.palette.name != "blue-orange" else (156, 39, 176)
        shapes.append(Shape("polyline", (xs, y_of(average)), colour, width=1.5, fill=False))
    if "crosshair" in market.distractors:
        x, y = xs[int(count * 0.6)], float(y_of(market.closes[int(count * 0.3)]))
        shapes.append(Shape("line", (x, 0, x, height), muted, dashed=True))
        shapes.append(Shape("line", (0, y, right, y), muted, dashed=True))
    if "price_labels" in market.distractors:
        for share in np.linspace(0.1, 0.9, 5):
            y = top + share * (bottom - top)
            value = high - share * (high - low)
            shapes.append(Shape("text", (right + 8, y + 4, 12, f"{value * 3 + 500:,.2f}"), muted))
    if "last_price" in market.distractors:
        y = float(y_of(market.closes[-1]))
        colour = market.palette.up if market.closes[-1] >= market.opens[-1] else market.palette.down
        shapes.append(Shape("rect", (right + 2, y - 9, 64, 18), colour))
        label = f"{market.closes[-1] * 3 + 500:.2f}"
        shapes.append(Shape("text", (right + 6, y + 4, 12, label), (255, 255, 255)))
    if "header" in market.distractors:
        colour = market.palette.up if market.closes[-1] >= market.closes[0] else market.palette.down
        shapes.append(Shape("text", (14, 34, 24, market.header), colour))
    if "notice" in market.distractors:  # a sentence across the top (never drawn at random)
        colour = (220, 220, 220) if market.dark else (33, 33, 33)
        shapes.append(Shape("text", (14, 30, 13, NOTICE), colour))
    if "side_panel" in market.distractors:
        fill = (30, 34, 45) if market.dark else (245, 246, 248)
        shapes.append(Shape("rect", (width - panel, 0, panel, height), fill))
        for row in range(8):
            y = 30 + row * 28
            label = f"SYM{row}  {100 + row * 7.3:.2f}"
            shapes.append(Shape("text", (width - panel + 10, y, 13, label), muted))
    return shapes


def _draw_series(
    market: Market, shapes: list[Shape], xs: Floats, step: float, y_of: Any, bottom: float
) -> None:
    closes = y_of(market.closes)
    if market.kind in ("line", "area"):
        if market.kind == "area":
            polygon_x = np.concatenate((xs, [xs[-1], xs[0]]))
            polygon_y = np.concatenate((closes, [bottom, bottom]))
            shapes.append(Shape("polygon", (polygon_x, polygon_y), market.line_colour, 0.2))
        shapes.append(
            Shape("polyline", (xs, closes), market.line_colour, width=market.line_width, fill=False)
        )
        return
    opens, highs, lows = y_of(market.opens), y_of(market.highs), y_of(market.lows)
    body = max(2.0, 0.6 * step)
    palette = market.palette
    for x, o, h, lo, c, rising in zip(
        xs, opens, highs, lows, closes, market.closes >= market.opens, strict=True
    ):
        colour = palette.up if rising else palette.down
        if palette.name.startswith("mono") and market.dark:
            colour = (210, 210, 210)
        if market.kind == "bars":
            tick = max(2.0, 0.35 * step)
            width = max(1.0, min(2.0, 0.15 * step))
            shapes.append(Shape("line", (x, h, x, lo), colour, width=width))
            shapes.append(Shape("line", (x - tick, o, x, o), colour, width=width))
            shapes.append(Shape("line", (x, c, x + tick, c), colour, width=width))
            continue
        top, tall = min(o, c), max(abs(c - o), 1.0)
        hollow = palette.hollow_up and rising
        shapes.append(Shape("line", (x, h, x, top), colour))
        shapes.append(Shape("line", (x, top + tall, x, lo), colour))
        shapes.append(Shape("rect", (x - body / 2, top, body, tall), colour, fill=not hollow))


# -- renderer 1: matplotlib (Agg) ----------------------------------------------------


def render_matplotlib(market: Market) -> Pixels:
    from matplotlib import patches
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(market.width / 100, market.height / 100), dpi=100)
    canvas = FigureCanvasAgg(figure)
    figure.patch.set_facecolor(_unit(market.background))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, market.width)
    axes.set_ylim(market.height, 0)
    axes.axis("off")
    for shape in layout(market):
        colour = (*_unit(shape.colour), shape.alpha)
        style = (0, (4, 4)) if shape.dashed else "solid"
        if shape.kind == "line":
            x1, y1, x2, y2 = shape.data
            axes.plot(
                [x1, x2], [y1, y2], color=colour, linewidth=shape.width * 0.75, linestyle=style
            )
        elif shape.kind == "rect":
            x, y, w, h = shape.data
            axes.add_patch(
                patches.Rectangle(
                    (x, y), w, h, facecolor=colour if shape.fill else "none",
                    edgecolor=colour, linewidth=0.75,
                )
            )  # fmt: skip
        elif shape.kind == "polyline":
            xs, ys = shape.data
            axes.plot(xs, ys, color=colour, linewidth=shape.width * 0.75)
        elif shape.kind == "polygon":
            xs, ys = shape.data
            axes.fill(xs, ys, color=colour, linewidth=0)
        elif shape.kind == "text":
            x, y, size, text = shape.data
            axes.text(x, y, text, color=colour, fontsize=size * 0.75, va="baseline")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR))


def _unit(colour: Rgb) -> tuple[float, float, float]:
    return (colour[0] / 255, colour[1] / 255, colour[2] / 255)


# -- renderer 2: Chromium, an SVG page -------------------------------------------------


def svg_page(market: Market) -> str:
    parts = []
    for shape in layout(market):
        colour = "rgb({},{},{})".format(*shape.colour)
        opacity = f' opacity="{shape.alpha:.2f}"' if shape.alpha < 1 else ""
        dash = ' stroke-dasharray="4 4"' if shape.dashed else ""
        if shape.kind == "line":
            x1, y1, x2, y2 = shape.data
            parts.append(
                f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="{colour}" '
                f'stroke-width="{shape.width:.2f}"{dash}{opacity}/>'
            )
        elif shape.kind == "rect":
            x, y, w, h = shape.data
            fill = colour if shape.fill else "none"
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{fill}" '
                f'stroke="{colour}"{opacity}/>'
            )
        elif shape.kind in ("polyline", "polygon"):
            xs, ys = shape.data
            points = " ".join(f"{x:.2f},{y:.2f}" for x, y in zip(xs, ys, strict=True))
            if shape.kind == "polyline":
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="{shape.width:.2f}" stroke-linejoin="round"{opacity}/>'
                )
            else:
                parts.append(f'<polygon points="{points}" fill="{colour}"{opacity}/>')
        elif shape.kind == "text":
            x, y, size, text = shape.data
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" font-size="{size}" '
                f'fill="{colour}">{text}</text>'
            )
    background = "rgb({},{},{})".format(*market.background)
    return (
        "<!doctype html><html><head><style>html,body{margin:0;overflow:hidden;"
        f"background:{background}}}</style></head><body>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{market.width}" '
        f'height="{market.height}">{"".join(parts)}</svg></body></html>'
    )


class ChromiumRenderer:
    """Debian's Chromium (headless, through Playwright): one page, one screenshot per chart."""

    def __init__(self, page: Any) -> None:
        self._page = page

    def __call__(self, market: Market) -> Pixels:
        self._page.set_viewport_size({"width": market.width, "height": market.height})
        self._page.set_content(svg_page(market))
        png = self._page.screenshot(type="png")
        return decode_png(png)


def decode_png(data: bytes) -> Pixels:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not an image")
    return np.asarray(image, np.uint8)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]


@contextmanager
def chromium_renderer() -> Iterator[ChromiumRenderer]:
    binary = shutil.which("chromium")
    if binary is None:
        from tests.support.xvfb import missing

        missing("chromium is not installed (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            yield ChromiumRenderer(browser.new_page())
        finally:
            browser.close()


def data_url(pixels: Pixels) -> str:
    ok, png = cv2.imencode(".png", pixels)
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()
