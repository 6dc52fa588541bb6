"""A procedural chart renderer with every look drawn at random, for the chart model's corpus.

No charting library is imitated: each part of a chart's look is drawn from a wide
range (backgrounds from white to black and tinted, grids solid, dashed or none,
axes and labels on either side, headers, legends, watermarks, last-price tags,
crosshairs, moving averages and Bollinger bands over any kind, volume in the
price pane or under it, RSI and MACD panes, range sliders, window chrome, sizes,
scaling and JPEG), so that what the model learns is the price series itself.

The label comes from the prices, by the rule the reader is held to
(`label_of`): `up` / `down` when the last tenth of the series moves at least 8%
of the range that way; `none` when the last tenth stays inside a band of a
twentieth of the range. A series that fits neither is drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from tests.analysis.renderers.markets import bollinger, ema, sma

from trade_analysis.domain import Trend

Floats = npt.NDArray[np.float64]
Pixels = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)


@dataclass(frozen=True)
class Chart:
    pixels: Pixels
    trend: Trend
    kind: str  # line (area included), candles or bars


@dataclass
class Ohlc:
    opens: Floats
    highs: Floats
    lows: Floats
    closes: Floats


def label_of(closes: Floats) -> Trend | None:
    """The series' trend by the reader's rule, or None when it is neither clearly.

    `none` when the last tenth (or more) stays inside a band a twentieth of the
    range tall (the flat rule of trend.py); `up` / `down` when the last tenth
    moves at least 8% of the range that way, mostly in one direction. (A steady
    trend across the whole window moves a tenth of its range in its last tenth:
    the line is drawn below that, so that such a trend is a trend.)
    """
    count = closes.size
    span = float(np.ptp(closes))
    if span <= 0:
        return None
    recent = closes[-max(2, round(count * 0.1)) :]
    if float(np.ptp(recent)) <= 0.05 * span:
        return Trend.NONE
    move = float(recent[-1] - recent[0])
    if abs(move) >= 0.08 * span and float(np.ptp(recent)) <= 1.5 * abs(move):
        return Trend.UP if move > 0 else Trend.DOWN
    return None


def closes_for(rng: np.random.Generator, label: Trend, count: int, steady: bool = False) -> Floats:
    volatility = rng.uniform(0.3, 2.0)
    walk = np.cumsum(rng.normal(rng.normal(0, 0.2), volatility, count))
    span = max(float(np.ptp(walk)), 1.0)
    if label is Trend.NONE:
        tail = max(2, int(count * rng.uniform(0.1, 0.5)))
        head = count - tail
        body = walk[:head].copy()
        if rng.random() < 0.7:  # a move into the flat stretch, either way
            leg = max(2, int(head * rng.uniform(0.1, 0.4)))
            move = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.5) * span
            body[head - leg :] = body[head - leg] + np.linspace(0, move, leg)
        extent = max(float(np.ptp(body)), 1.0)
        level = body[-1]
        style = rng.integers(5)
        if style == 0:
            rest = np.full(tail, level)
        elif style == 1:
            width = rng.uniform(0.003, 0.03) * extent
            rest = level + width / 2 * np.sin(np.linspace(0, rng.uniform(1, 10) * np.pi, tail))
        elif style == 2:
            noise = rng.normal(0, 0.006 * extent, tail)
            rest = level + np.clip(noise, -0.015 * extent, 0.015 * extent)
        elif style == 3:  # a price that ticks between two levels
            rest = level + rng.integers(0, 2, tail) * rng.uniform(0.002, 0.02) * extent
        else:  # a slow drift, a few hundredths of the range over the whole stretch
            rest = level + np.linspace(0, rng.uniform(-0.03, 0.03) * extent, tail)
        return np.concatenate((body, rest))
    sign = 1.0 if label is Trend.UP else -1.0
    if steady or rng.random() < 0.15:  # a steady trend over most or all of the window
        leg = int(count * rng.uniform(0.6, 1.0))
        start = walk[: count - leg]
        level = start[-1] if start.size else 0.0
        size = rng.uniform(1.0, 4.0) * span
        shape = np.linspace(0, 1, leg + 1)[1:] ** rng.uniform(0.8, 1.6)
        wobble = rng.normal(0, rng.uniform(0, 0.02) * size, leg)
        return np.concatenate((start, level + sign * size * shape + wobble))
    if rng.random() < 0.25:  # a short fresh move out of a flat stretch or a long slide
        leg = max(2, int(count * rng.uniform(0.03, 0.1)))
        flat = int(count * rng.uniform(0, 0.4))
        base = walk[: count - leg - flat]
        held = np.full(flat, base[-1])
        size = rng.uniform(0.2, 0.8) * span
        fresh = base[-1] + sign * size * np.linspace(0, 1, leg + 1)[1:]
        return np.concatenate((base, held, fresh))
    leg = max(3, int(count * rng.uniform(0.1, 0.5)))
    size = rng.uniform(0.4, 2.0) * span
    shape = np.linspace(0, 1, leg + 1)[1:] ** rng.uniform(0.6, 1.8)
    noise = rng.normal(0, rng.uniform(0, 0.06) * size, leg)
    base = walk[: count - leg]
    return np.concatenate((base, base[-1] + sign * size * shape + noise))


def ohlc_for(rng: np.random.Generator, closes: Floats, label: Trend) -> Ohlc:
    count = closes.size
    opens = np.concatenate(([closes[0]], closes[:-1]))
    scale = max(float(np.ptp(closes)), 1e-6)
    if rng.random() < 0.3:  # gaps between a close and the next open
        opens = opens + rng.normal(0, 0.01 * scale, count)
    wick = np.abs(rng.normal(0, rng.uniform(0.0, 0.04) * scale, (2, count)))
    if label is Trend.NONE:  # wicks inside the flat stretch stay inside its band
        tail = int(count * 0.1)
        wick[:, count - tail :] = np.minimum(wick[:, count - tail :], 0.004 * scale)
    highs = np.maximum(opens, closes) + wick[0]
    lows = np.minimum(opens, closes) - wick[1]
    return Ohlc(opens, highs, lows, closes)


# -- colours --------------------------------------------------------------------------


def background(rng: np.random.Generator, dark: bool) -> Colour:
    if dark:
        base = rng.integers(0, 45)
        tint = rng.integers(-8, 12, 3)
        return tuple(int(np.clip(base + t, 0, 255)) for t in tint)  # type: ignore[return-value]
    base = rng.integers(228, 256)
    tint = rng.integers(-12, 4, 3)
    return tuple(int(np.clip(base + t, 0, 255)) for t in tint)  # type: ignore[return-value]


def vivid(rng: np.random.Generator) -> Colour:
    hue = int(rng.integers(0, 180))
    saturation = int(rng.integers(120, 256))
    value = int(rng.integers(150, 256))
    bgr = cv2.cvtColor(np.uint8([[[hue, saturation, value]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def ink(rng: np.random.Generator, back: Colour, contrast: tuple[int, int]) -> Colour:
    """A grey-ish colour at a given distance from the background (grid, text, axes)."""
    light = sum(back) / 3 > 128
    step = int(rng.integers(*contrast))
    tint = rng.integers(-6, 7, 3)
    return tuple(  # type: ignore[return-value]
        int(np.clip(c - step + t if light else c + step + t, 0, 255))
        for c, t in zip(back, tint, strict=True)
    )


def mix(a: Colour, b: Colour, share: float) -> Colour:
    mixed = (round(x * (1 - share) + y * share) for x, y in zip(a, b, strict=True))
    return tuple(mixed)  # type: ignore[return-value]


# -- drawing --------------------------------------------------------------------------

SHIFT = 4  # sub-pixel bits for cv2's drawing calls


def _fixed(points: Floats) -> npt.NDArray[np.int32]:
    return np.round(points * (1 << SHIFT)).astype(np.int32)


def polyline(img: Pixels, xs: Floats, ys: Floats, colour: Colour, width: int, aa: bool) -> None:
    keep = ~(np.isnan(xs) | np.isnan(ys))
    if keep.sum() < 2:
        return
    points = _fixed(np.stack((xs[keep], ys[keep]), axis=1))
    cv2.polylines(img, [points], False, colour, width, cv2.LINE_AA if aa else cv2.LINE_8, SHIFT)


def dashed_hline(
    img: Pixels, y: int, x0: int, x1: int, colour: Colour, dash: int, gap: int
) -> None:
    x = x0
    while x < x1:
        cv2.line(img, (x, y), (min(x + dash, x1), y), colour, 1)
        x += dash + gap


def dashed_vline(
    img: Pixels, x: int, y0: int, y1: int, colour: Colour, dash: int, gap: int
) -> None:
    y = y0
    while y < y1:
        cv2.line(img, (x, y), (x, min(y + dash, y1)), colour, 1)
        y += dash + gap


def text(
    img: Pixels,
    rng: np.random.Generator,
    words: str,
    at: tuple[int, int],
    colour: Colour,
    scale: float,
) -> None:
    font = FONTS[int(rng.integers(len(FONTS)))]
    cv2.putText(
        img, words, at, font, scale, colour, 1, cv2.LINE_AA if rng.random() < 0.7 else cv2.LINE_8
    )


def grid(
    img: Pixels, rng: np.random.Generator, box: tuple[int, int, int, int], colour: Colour
) -> None:
    left, top, right, bottom = box
    style = rng.integers(3)  # solid, dashed, dotted
    dash, gap = (100000, 0) if style == 0 else ((4, 4) if style == 1 else (1, 2))
    if rng.random() < 0.85:
        for y in np.linspace(top, bottom, int(rng.integers(3, 11)))[1:-1]:
            dashed_hline(img, int(y), left, right, colour, dash, gap)
    if rng.random() < 0.7:
        for x in np.linspace(left, right, int(rng.integers(3, 13)))[1:-1]:
            dashed_vline(img, int(x), top, bottom, colour, dash, gap)


@dataclass
class Pane:
    left: int
    top: int
    right: int
    bottom: int

    def y(self, values: Floats, low: float, high: float) -> Floats:
        return self.bottom - (values - low) / max(high - low, 1e-12) * (self.bottom - self.top)


def draw_candles(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    step: float,
    prices: Ohlc,
    ys: dict[str, Floats],
    back: Colour,
) -> None:
    up, down = candle_colours(rng, back)
    hollow = rng.random() < 0.2
    body = max(1.0, step * rng.uniform(0.3, 0.85))
    wick_same = rng.random() < 0.75
    wick_colour = ink(rng, back, (120, 200))
    for i, x in enumerate(xs):
        rising = prices.closes[i] >= prices.opens[i]
        colour = up if rising else down
        cx = round(x)
        cv2.line(
            img,
            (cx, round(ys["high"][i])),
            (cx, round(ys["low"][i])),
            colour if wick_same else wick_colour,
            1,
        )
        top = min(ys["open"][i], ys["close"][i])
        bottom = max(ys["open"][i], ys["close"][i])
        x0, x1 = round(x - body / 2), round(x + body / 2)
        y0, y1 = round(top), max(round(bottom), round(top) + 1)
        if hollow and rising:
            cv2.rectangle(img, (x0, y0), (max(x1, x0 + 1), y1), colour, 1)
        else:
            cv2.rectangle(img, (x0, y0), (max(x1 - 1, x0), y1), colour, -1)


def draw_bars(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    step: float,
    prices: Ohlc,
    ys: dict[str, Floats],
    back: Colour,
) -> None:
    up, down = candle_colours(rng, back)
    tick = max(1, round(step * rng.uniform(0.2, 0.45)))
    width = 1 if rng.random() < 0.75 or step < 5 else 2
    with_open = rng.random() < 0.85
    for i, x in enumerate(xs):
        colour = up if prices.closes[i] >= prices.opens[i] else down
        cx = round(x)
        cv2.line(img, (cx, round(ys["high"][i])), (cx, round(ys["low"][i])), colour, width)
        yc = round(ys["close"][i])
        cv2.line(img, (cx, yc), (cx + tick, yc), colour, width)
        if with_open:
            yo = round(ys["open"][i])
            cv2.line(img, (cx - tick, yo), (cx, yo), colour, width)


def candle_colours(rng: np.random.Generator, back: Colour) -> tuple[Colour, Colour]:
    choice = rng.integers(5)
    if choice == 0:
        return (129, 153, 8), (69, 54, 242)  # teal / red (BGR)
    if choice == 1:
        return (80, 175, 76), (54, 67, 244)
    if choice == 2:
        return vivid(rng), vivid(rng)
    if choice == 3:
        same = ink(rng, back, (150, 230))
        return same, same
    return (54, 67, 244), (80, 175, 76)  # red up, green down


def draw_series(
    img: Pixels,
    rng: np.random.Generator,
    pane: Pane,
    kind: str,
    prices: Ohlc,
    back: Colour,
    low: float,
    high: float,
    right_gap: float,
) -> tuple[Floats, float]:
    count = prices.closes.size
    usable = (pane.right - pane.left) * (1 - right_gap)
    step = usable / count
    xs = pane.left + step * (np.arange(count) + 0.5)
    ys = {
        name: pane.y(getattr(prices, name + "s"), low, high)
        for name in ("open", "high", "low", "close")
    }
    if kind == "candles":
        draw_candles(img, rng, xs, step, prices, ys, back)
    elif kind == "bars":
        draw_bars(img, rng, xs, step, prices, ys, back)
    else:
        colour = vivid(rng) if rng.random() < 0.8 else ink(rng, back, (120, 220))
        width = int(rng.integers(1, 5))
        if kind == "area":
            fill_area(img, rng, xs, ys["close"], pane, colour, back)
            if rng.random() < 0.15:
                width = 0
        if width:
            polyline(img, xs, ys["close"], colour, width, bool(rng.random() < 0.75))
    return xs, step


def fill_area(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    ys: Floats,
    pane: Pane,
    colour: Colour,
    back: Colour,
) -> None:
    polygon = np.concatenate((np.stack((xs, ys), 1), [[xs[-1], pane.bottom], [xs[0], pane.bottom]]))
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_fixed(polygon)], 255, cv2.LINE_AA, SHIFT)
    alpha = rng.uniform(0.12, 0.7)
    weights = mask.astype(np.float32) / 255 * alpha
    if rng.random() < 0.5:  # a gradient fading towards the bottom
        fade = np.linspace(1, rng.uniform(0, 0.4), img.shape[0], dtype=np.float32)[:, None]
        weights *= fade
    img[:] = (
        img * (1 - weights[..., None]) + np.array(colour, np.float32) * weights[..., None]
    ).astype(np.uint8)


def overlays(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    pane: Pane,
    closes: Floats,
    low: float,
    high: float,
    back: Colour,
    kind: str,
) -> None:
    chance = 0.6 if kind in ("candles", "bars") else 0.2
    if rng.random() > chance:
        return
    aa = bool(rng.random() < 0.7)
    if rng.random() < 0.3:
        lower, middle, upper = bollinger(closes, int(rng.integers(10, 30)))
        colour = vivid(rng)
        if rng.random() < 0.4:
            keep = ~np.isnan(lower)
            if keep.sum() > 2:
                polygon = np.concatenate(
                    (
                        np.stack((xs[keep], pane.y(upper[keep], low, high)), 1),
                        np.stack((xs[keep], pane.y(lower[keep], low, high)), 1)[::-1],
                    )
                )
                layer = img.copy()
                cv2.fillPoly(layer, [_fixed(polygon)], colour, cv2.LINE_AA, SHIFT)
                cv2.addWeighted(
                    layer, rng.uniform(0.05, 0.2), img, 1 - rng.uniform(0.05, 0.2), 0, img
                )
        for line in (lower, middle, upper):
            polyline(img, xs, pane.y(line, low, high), colour, int(rng.integers(1, 3)), aa)
    for _ in range(int(rng.integers(0, 4))):
        period = int(rng.choice([5, 7, 9, 10, 20, 26, 30, 50]))
        line = ema(closes, period) if rng.random() < 0.4 else sma(closes, period)
        polyline(img, xs, pane.y(line, low, high), vivid(rng), int(rng.integers(1, 4)), aa)


def volume(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    step: float,
    pane: Pane,
    prices: Ohlc,
    back: Colour,
    share: float,
) -> None:
    amounts = rng.lognormal(0, 0.5, xs.size)
    up, down = candle_colours(rng, back)
    fade = rng.uniform(0.3, 1.0)
    height = (pane.bottom - pane.top) * share
    width = max(1.0, step * rng.uniform(0.4, 0.9))
    for i, x in enumerate(xs):
        colour = mix(back, up if prices.closes[i] >= prices.opens[i] else down, fade)
        top = round(pane.bottom - amounts[i] / amounts.max() * height)
        cv2.rectangle(img, (int(x - width / 2), top), (int(x + width / 2), pane.bottom), colour, -1)


def sub_pane(
    img: Pixels,
    rng: np.random.Generator,
    xs: Floats,
    step: float,
    pane: Pane,
    closes: Floats,
    back: Colour,
) -> None:
    if rng.random() < 0.3:  # another series of its own, moving any way
        other = np.cumsum(rng.normal(rng.normal(0, 0.5), 1, closes.size))
        low, high = float(other.min()), float(other.max()) + 1e-9
        polyline(img, xs, pane.y(other, low, high), vivid(rng), int(rng.integers(1, 3)), True)
        return
    if rng.random() < 0.5:  # an oscillator with its two guide lines
        change = np.diff(closes, prepend=closes[0])
        gain, loss = ema(np.maximum(change, 0), 27), ema(np.maximum(-change, 0), 27)
        values = 100 - 100 / (1 + gain / np.maximum(loss, 1e-9))
        guide = ink(rng, back, (40, 110))
        for level in (30, 70):
            y = int(pane.y(np.array([level]), 0, 100)[0])
            dashed_hline(img, y, pane.left, pane.right, guide, 4, 3)
        polyline(img, xs, pane.y(values, 0, 100), vivid(rng), int(rng.integers(1, 3)), True)
        return
    line = ema(closes, 12) - ema(closes, 26)
    signal = ema(line, 9)
    histogram = line - signal
    reach = max(float(np.nanmax(np.abs(np.concatenate((line, signal))))), 1e-9)
    zero = pane.y(np.array([0.0]), -reach, reach)[0]
    width = max(1.0, step * 0.6)
    positive, negative = vivid(rng), vivid(rng)
    for i, x in enumerate(xs):
        y = pane.y(np.array([histogram[i]]), -reach, reach)[0]
        cv2.rectangle(
            img,
            (int(x - width / 2), int(min(y, zero))),
            (int(x + width / 2), int(max(y, zero))),
            positive if histogram[i] >= 0 else negative,
            -1,
        )
    polyline(img, xs, pane.y(line, -reach, reach), vivid(rng), 1, True)
    polyline(img, xs, pane.y(signal, -reach, reach), vivid(rng), 1, True)


def axis_labels(
    img: Pixels,
    rng: np.random.Generator,
    pane: Pane,
    side: str,
    low: float,
    high: float,
    colour: Colour,
    width: int,
) -> None:
    scale = rng.uniform(0.3, 0.5)
    decimals = int(rng.integers(0, 4))
    for value in np.linspace(low, high, int(rng.integers(3, 9))):
        y = int(pane.y(np.array([value]), low, high)[0])
        if y < pane.top + 6 or y > pane.bottom - 2:
            continue
        words = f"{value:,.{decimals}f}"
        x = pane.right + 4 if side == "right" else max(1, pane.left - width + 2)
        text(img, rng, words, (x, y + 4), colour, scale)


def last_price_tag(
    img: Pixels,
    rng: np.random.Generator,
    pane: Pane,
    y: float,
    colour: Colour,
    back: Colour,
    value: float,
) -> None:
    yy = round(y)
    if rng.random() < 0.6:
        dashed_hline(
            img, yy, pane.left, pane.right, colour, int(rng.integers(1, 6)), int(rng.integers(2, 5))
        )
    height = int(rng.integers(12, 20))
    cv2.rectangle(
        img, (pane.right, yy - height // 2), (img.shape[1] - 1, yy + height // 2), colour, -1
    )
    text(img, rng, f"{value:.2f}", (pane.right + 3, yy + 4), back, 0.4)


def header(
    img: Pixels, rng: np.random.Generator, height: int, colour: Colour, back: Colour
) -> None:
    if rng.random() < 0.4:
        cv2.rectangle(img, (0, 0), (img.shape[1], height), ink(rng, back, (5, 40)), -1)
    ticker = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(2, 6))))
    period = "1D" if rng.random() < 0.5 else "5m"
    words = f"{ticker} {period}  O {rng.uniform(1, 999):.2f} H {rng.uniform(1, 999):.2f}"
    text(
        img,
        rng,
        words,
        (int(rng.integers(4, 40)), max(12, height - 6)),
        colour,
        rng.uniform(0.35, 0.6),
    )
    for _i in range(int(rng.integers(0, 4))):  # legend entries with colour marks
        x = int(rng.integers(0, max(1, img.shape[1] - 140)))
        cv2.rectangle(img, (x, height - 12), (x + 10, height - 4), vivid(rng), -1)
        text(img, rng, f"MA {int(rng.integers(5, 60))}", (x + 14, height - 3), colour, 0.35)


def chrome(img: Pixels, rng: np.random.Generator) -> Pixels:
    """Window parts around the chart: a title bar, a tool bar at the side, a frame."""
    height, width = img.shape[:2]
    top = int(rng.integers(18, 40)) if rng.random() < 0.3 else 0
    side = int(rng.integers(20, 50)) if rng.random() < 0.2 else 0
    border = int(rng.integers(1, 4)) if rng.random() < 0.2 else 0
    if not (top or side or border):
        return img
    shade = tuple(int(v) for v in rng.integers(20, 240, 3))
    out = np.empty((height + top + 2 * border, width + side + 2 * border, 3), np.uint8)
    out[:] = shade
    out[top + border : top + border + height, side + border : side + border + width] = img
    if top:
        text(out, rng, "Chart - quotes", (8, top - 6), ink(rng, shade, (100, 200)), 0.45)  # type: ignore[arg-type]
    for y in range(top + 10, out.shape[0] - 20, 34) if side else ():
        cv2.rectangle(
            out, (side // 4, y), (side * 3 // 4, y + side // 2), ink(rng, shade, (60, 160)), 1
        )  # type: ignore[arg-type]
    return out


def _words(rng: np.random.Generator, low: int, high: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 $%.,"
    picks = rng.integers(0, len(letters), int(rng.integers(low, high)))
    return "".join(letters[int(i)] for i in picks)


def browser_bars(rng: np.random.Generator, width: int) -> Pixels:
    """A browser's tab strip, address bar and perhaps an info bar, as one strip."""
    dark = rng.random() < 0.4
    strip = background(rng, dark)
    rows: list[Pixels] = []
    for part, (low, high) in (("tabs", (26, 40)), ("address", (30, 44)), ("info", (28, 40))):
        if part == "info" and rng.random() > 0.3:
            continue
        if part == "tabs" and rng.random() > 0.8:
            continue
        row = np.empty((int(rng.integers(low, high)), width, 3), np.uint8)
        if part == "tabs":
            row[:] = ink(rng, strip, (10, 50))
        elif part == "info":
            row[:] = mix(strip, vivid(rng), rng.uniform(0.1, 0.4))
        else:
            row[:] = strip
        height = row.shape[0]
        colour = ink(rng, tuple(int(v) for v in row[0, 0]), (90, 200))  # type: ignore[arg-type]
        if part == "tabs":
            x = int(rng.integers(0, 80))
            for _ in range(int(rng.integers(1, 6))):
                tab = int(rng.integers(120, 240))
                cv2.rectangle(row, (x, 4), (min(width - 1, x + tab), height - 1), strip, -1)
                text(row, rng, _words(rng, 6, 22), (x + 10, height - 9), colour, 0.4)
                x += tab + int(rng.integers(1, 6))
        elif part == "address":
            box = ink(rng, strip, (8, 30))
            left, right = int(rng.integers(60, 140)), width - int(rng.integers(40, 140))
            cv2.rectangle(row, (left, 5), (max(left + 10, right), height - 5), box, -1)
            text(row, rng, "https://" + _words(rng, 8, 40), (left + 10, height - 12), colour, 0.42)
        else:
            at = (int(rng.integers(8, 40)), height - 10)
            text(row, rng, _words(rng, 20, 70), at, colour, 0.42)
        rows.append(row)
    return np.concatenate(rows) if rows else np.empty((0, width, 3), np.uint8)


def side_panel(rng: np.random.Generator, height: int, width: int, back: Colour) -> Pixels:
    """A watch list, order book or news column beside the chart: text and coloured figures."""
    panel = np.empty((height, width, 3), np.uint8)
    panel[:] = back if rng.random() < 0.5 else ink(rng, back, (5, 25))
    colour = ink(rng, back, (90, 200))
    row = int(rng.integers(18, 34))
    green, red = (80, 200, 0), (60, 60, 230)
    for y in range(int(rng.integers(15, 50)), height - 8, row):
        text(panel, rng, _words(rng, 3, 12), (8, y), colour, rng.uniform(0.35, 0.5))
        if rng.random() < 0.7:
            figure = f"{rng.uniform(-9, 9):+.2f}%"
            tint = green if figure.startswith("+") else red
            text(panel, rng, figure, (max(8, width - 70), y), tint, 0.4)
        if rng.random() < 0.2:
            cv2.line(panel, (4, y + 6), (width - 4, y + 6), ink(rng, back, (10, 40)), 1)
    return panel


def page(img: Pixels, rng: np.random.Generator, back: Colour) -> Pixels:
    """The chart inside a web page or an app: margins, a big price above it, buttons and
    text below, a side column, space to its right, and a browser's bars on top."""
    height, width = img.shape[:2]
    seamless = rng.random() < 0.5
    sheet = back if seamless else background(rng, rng.random() < 0.4)
    colour = ink(rng, sheet, (90, 220))
    left = int(rng.integers(0, int(0.12 * width) + 1))
    right = int(rng.integers(0, int(0.45 * width) + 1))
    top = int(rng.integers(0, 50)) + (int(rng.integers(40, 90)) if rng.random() < 0.6 else 0)
    bottom = int(rng.integers(0, int(0.35 * height) + 1))
    out = np.empty((height + top + bottom, width + left + right, 3), np.uint8)
    out[:] = sheet
    out[top : top + height, left : left + width] = img
    if top >= 40:  # the ticker and its price, large
        size = rng.uniform(0.7, 1.4)
        words = f"${rng.uniform(1, 999):,.2f}" if rng.random() < 0.7 else _words(rng, 4, 14)
        text(out, rng, words, (left + int(rng.integers(0, 30)), top - 16), colour, size)
        if rng.random() < 0.5:
            change = f"{rng.uniform(-20, 20):+.2f} ({rng.uniform(-9, 9):+.2f}%) Today"
            text(out, rng, change, (left + 4, max(14, top - 45)), vivid(rng), 0.45)
    if bottom >= 40:  # period buttons and text under the chart
        x = left + int(rng.integers(0, 40))
        for label in ("1D", "1W", "1M", "3M", "1Y", "5Y", "ALL")[: int(rng.integers(2, 8))]:
            text(out, rng, label, (x, top + height + 25), colour, 0.45)
            x += int(rng.integers(35, 70))
        for y in range(top + height + 55, out.shape[0] - 10, int(rng.integers(18, 30))):
            text(out, rng, _words(rng, 10, 60), (left + 4, y), colour, 0.4)
    if right >= 120 and rng.random() < 0.6:
        panel = side_panel(rng, out.shape[0] - top, right - int(rng.integers(0, 20)), sheet)
        out[top:, out.shape[1] - panel.shape[1] :] = panel
    if rng.random() < 0.7:
        out = np.concatenate((browser_bars(rng, out.shape[1]), out))
    return out


def finish(img: Pixels, rng: np.random.Generator) -> Pixels:
    if rng.random() < 0.3:  # another screen's scale
        factor = rng.uniform(0.6, 1.25)
        interpolation = [cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_NEAREST][int(rng.integers(3))]
        img = cv2.resize(img, None, fx=factor, fy=factor, interpolation=interpolation)
    if rng.random() < 0.1:
        img = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        quality = int(rng.integers(35, 95))
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(img)


def layout(rng: np.random.Generator, width: int, height: int) -> tuple[Pane, list[Pane], int, str]:
    """The price pane, the panes under it, the header's height and the price axis' side."""
    head = int(rng.integers(0, 60)) if rng.random() < 0.7 else 0
    side = str(rng.choice(["right", "left", "both", "none"], p=[0.55, 0.15, 0.1, 0.2]))
    axis = int(rng.integers(40, 90))
    left = axis if side in ("left", "both") else int(rng.integers(0, 15))
    right = width - (axis if side in ("right", "both") else int(rng.integers(0, 15)))
    bottom = height - (int(rng.integers(14, 36)) if rng.random() < 0.8 else int(rng.integers(0, 6)))
    if rng.random() < 0.1:  # a range slider under everything
        bottom -= int(rng.integers(30, 60))
    panes: list[Pane] = []
    count = int(rng.choice([0, 1, 2], p=[0.55, 0.3, 0.15]))
    for _ in range(count):
        tall = int((bottom - head) * rng.uniform(0.12, 0.22))
        panes.append(Pane(left, bottom - tall, right, bottom))
        bottom -= tall + int(rng.integers(2, 10))
    return Pane(left, head + int(rng.integers(2, 16)), right, bottom), panes, head, side


def draw_chart(seed: int, empty: bool = False, flat: bool = False, steady: bool = False) -> Chart:
    """One random chart; the same seed draws the same chart.

    An `empty` chart has everything but the price series (a window still loading,
    a blank layout): its trend is `none`. A `flat` one is a dead market: whatever its
    prices do, they stay inside a band a few hundredths of the plot's height (its
    axis spans far more), so its trend is `none` too.
    A `steady` one moves up or down at an even pace over most or all of the window.
    """
    rng = np.random.default_rng([seed, 20])
    kind = str(rng.choice(["line", "area", "candles", "bars"], p=[0.25, 0.15, 0.35, 0.25]))
    label = (Trend.UP, Trend.DOWN, Trend.NONE)[int(rng.integers(2 if steady else 3))]
    count = int(rng.integers(25, 170) if kind in ("candles", "bars") else rng.integers(40, 400))
    closes = closes_for(rng, label, count, steady)
    while label_of(closes) is not label:  # drawn again until the prices carry the label
        closes = closes_for(rng, label, count, steady)
    closes = (closes - closes.min() + rng.uniform(0.05, 1.0) * np.ptp(closes)) * 10 ** rng.uniform(
        -1, 3
    )
    prices = ohlc_for(rng, closes, label)
    width = int(rng.integers(360, 1400))
    height = int(np.clip(width * rng.uniform(0.45, 0.9), 220, 950))
    dark = bool(rng.random() < 0.5)
    back = background(rng, dark)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = back
    # A bare line or area on a plain sheet, as brokers' apps draw it: no axes, grid or panes.
    minimal = kind in ("line", "area") and rng.random() < 0.15
    main, panes, head, side = layout(rng, width, height)
    if minimal:
        panes, side = [], "none"
    text_colour = ink(rng, back, (90, 200))
    if rng.random() < 0.15:  # a large faint watermark
        text(img, rng, "ABC", (width // 3, height // 2), ink(rng, back, (8, 25)), rng.uniform(2, 4))
    for pane in [main, *panes] if not minimal else []:
        if rng.random() < 0.8:
            grid(img, rng, (pane.left, pane.top, pane.right, pane.bottom), ink(rng, back, (8, 45)))
        if rng.random() < 0.5:
            cv2.rectangle(
                img, (pane.left, pane.top), (pane.right, pane.bottom), ink(rng, back, (30, 120)), 1
            )
    series_low = float(prices.lows.min() if kind in ("candles", "bars") else closes.min())
    series_high = float(prices.highs.max() if kind in ("candles", "bars") else closes.max())
    pad = (series_high - series_low) * rng.uniform(0.02, 0.2)
    if flat:  # the series fills 0.5-4% of the plot's height, somewhere in it
        pad = (series_high - series_low) / rng.uniform(0.01, 0.08)
        series_low -= pad * rng.uniform(-0.45, 0.45)
    low = series_low - pad * (0.2 if kind == "area" and rng.random() < 0.3 else 1)
    high = series_high + pad
    if kind == "area" and rng.random() < 0.2:
        low = 0.0
    right_gap = rng.uniform(0, 0.12) if rng.random() < 0.5 else 0.0
    if rng.random() < 0.15:  # the series ends well before the plot does
        right_gap = rng.uniform(0.12, 0.4)
    count = closes.size
    step = (main.right - main.left) * (1 - right_gap) / count
    xs = main.left + step * (np.arange(count) + 0.5)
    volume_inside = rng.random() < 0.3 and not minimal
    if volume_inside:
        volume(img, rng, xs, step, main, prices, back, rng.uniform(0.1, 0.3))
    if not empty:
        draw_series(img, rng, main, kind, prices, back, low, high, right_gap)
        if not minimal:
            overlays(img, rng, xs, main, closes, low, high, back, kind)
    for pane in panes:
        if rng.random() < 0.5:
            volume(img, rng, xs, step, pane, prices, back, 0.95)
        else:
            sub_pane(img, rng, xs, step, pane, closes, back)
    if side in ("right", "both"):
        axis_labels(img, rng, main, "right", low, high, text_colour, width - main.right)
    if side in ("left", "both"):
        axis_labels(img, rng, main, "left", low, high, text_colour, main.left)
    if side in ("right", "both") and rng.random() < 0.6:
        last_y = main.y(np.array([closes[-1]]), low, high)[0]
        last_price_tag(img, rng, main, last_y, vivid(rng), back, float(closes[-1]))
    elif rng.random() < 0.15:  # a dotted line across the plot: the last price or a previous close
        level = closes[-1] if rng.random() < 0.6 else closes[int(rng.integers(count))]
        y = round(main.y(np.array([level]), low, high)[0])
        dash, gap = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        dashed_hline(img, y, main.left, main.right, ink(rng, back, (60, 160)), dash, gap)
    if head and rng.random() < 0.9:
        header(img, rng, head, text_colour, back)
    if rng.random() < 0.1:  # a crosshair somewhere
        x, y = int(rng.integers(main.left, main.right)), int(rng.integers(main.top, main.bottom))
        colour = ink(rng, back, (60, 140))
        dashed_hline(img, y, main.left, main.right, colour, 4, 4)
        dashed_vline(img, x, main.top, main.bottom, colour, 4, 4)
    in_page = rng.random() < (0.6 if minimal else 0.25)
    img = finish(page(img, rng, back) if in_page else chrome(img, rng), rng)
    if empty:
        return Chart(img, Trend.NONE, "line")
    if flat:
        label = Trend.NONE
    return Chart(img, label, "line" if kind == "area" else kind)
