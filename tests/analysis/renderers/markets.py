"""The market every renderer draws: prices, kind, label, theme, overlays, panes, size.

A `Market` is decided first, from one seed, before any library sees it; each
renderer then draws it with its own code and its own default look. The label
is the construction:

- `up` / `down`: the closes end with a leg that is still moving over the last
  tenth of the chart (`closes_for` of tests/analysis/market.py);
- `none`: after a move either way, the last 20-45% of the chart holds one
  constant price (`constant`), stays inside a band narrow against the range
  (`band`, at most 2% of it), or is tiny noise around one price (`noise`).

Overlays (moving averages, Bollinger bands) are drawn over candles and bars
only; panes (volume, volume + RSI, volume + MACD) go under any kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tests.analysis.market import closes_for
from trade_analysis.domain import Trend

Floats = npt.NDArray[np.float64]

KINDS = ("line", "area", "candles", "bars")
LABELS = (Trend.UP, Trend.DOWN, Trend.NONE)
FLATS = ("constant", "band", "noise")
PANES: tuple[tuple[str, ...], ...] = ((), ("volume",), ("volume", "rsi"), ("volume", "macd"))
PANE_WEIGHTS = (0.4, 0.3, 0.15, 0.15)
# Candles per chart: narrow enough to tell candles apart at 480 px, many enough to read a leg.
CANDLE_COUNTS = (40, 110)
LINE_COUNTS = (60, 240)
INTERVALS = (60, 300, 3600, 86400)  # seconds between points: minutes to days
START = 1_767_225_600  # 2026-01-01 00:00 UTC


@dataclass(frozen=True)
class Overlay:
    """A line over the price series: `sma` / `ema` of `period` closes, or `bollinger`."""

    name: str
    period: int


@dataclass(frozen=True)
class Market:
    seed: int
    kind: str
    label: Trend
    flat: str  # for `none`: constant, band or noise; "" otherwise
    flat_share: float  # share of the points in the flat tail (0 when not `none`)
    times: npt.NDArray[np.int64]  # UTC seconds
    opens: Floats
    highs: Floats
    lows: Floats
    closes: Floats
    volumes: Floats
    dark: bool
    overlays: tuple[Overlay, ...]
    panes: tuple[str, ...]
    width: int
    height: int
    line_width: int
    style: float  # in [0, 1): each renderer picks one of its own styles for the theme with it

    @property
    def theme(self) -> str:
        return "dark" if self.dark else "light"

    def pick(self, choices: tuple[str, ...]) -> str:
        """One of a renderer's own choices (a template, a style), the same for the same market."""
        return choices[int(self.style * len(choices))]

    def tail(self) -> slice:
        """The flat tail of a `none` market (empty for up and down)."""
        return slice(self.closes.size - round(self.flat_share * self.closes.size), None)


def flat_closes(rng: np.random.Generator, flat: str, count: int) -> tuple[Floats, float]:
    """A move either way, then a tail of `flat` kind; returns the closes and the tail's share."""
    share = float(rng.uniform(0.2, 0.45))
    tail = max(2, round(share * count))
    head = count - tail
    walk = np.cumsum(rng.normal(0, 1, head))
    span = max(float(np.ptp(walk)), 1.0)
    move = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.2) * span)
    leg = head // 3
    steps = np.linspace(0, move, leg) + rng.normal(0, 0.03 * abs(move), leg)
    body = np.concatenate((walk[: head - leg], walk[head - leg - 1] + steps))
    level, extent = float(body[-1]), float(np.ptp(body))
    if flat == "constant":
        rest = np.full(tail, level)
    elif flat == "band":  # a slow swing between two prices close together
        width = rng.uniform(0.005, 0.02) * extent
        rest = level + width / 2 * np.sin(np.linspace(0, rng.uniform(2, 8) * np.pi, tail))
    else:
        rest = level + rng.normal(0, 0.003 * extent, tail)
    return np.concatenate((body, rest)), tail / count


def make_market(seed: int, kind: str, label: Trend) -> Market:
    rng = np.random.default_rng([seed, KINDS.index(kind), LABELS.index(label), 7])
    low, high = CANDLE_COUNTS if kind in ("candles", "bars") else LINE_COUNTS
    count = int(rng.integers(low, high))
    flat, share = "", 0.0
    if label is Trend.NONE:
        flat = FLATS[int(rng.integers(len(FLATS)))]
        closes, share = flat_closes(rng, flat, count)
    else:
        closes = closes_for(rng, label, count)
    # Positive prices of any magnitude, the lowest a tenth to once the range above zero (so
    # a chart whose axis starts at zero, as a filled area's may, still shows the move).
    span = max(float(np.ptp(closes)), 1e-6)
    closes = (
        (closes - closes.min() + rng.uniform(0.1, 1.0) * span) * 10 ** rng.uniform(-1, 3) / span
    )
    opens, highs, lows = ohlc_for(rng, closes, round(share * count), flat)
    overlays = overlays_for(rng) if kind in ("candles", "bars") else ()
    width = int(rng.integers(480, 1281))
    return Market(
        seed=seed,
        kind=kind,
        label=label,
        flat=flat,
        flat_share=share,
        times=START + np.arange(count, dtype=np.int64) * INTERVALS[int(rng.integers(4))],
        opens=opens,
        highs=highs,
        lows=lows,
        closes=closes,
        volumes=np.round(rng.lognormal(10, 0.5, count)),
        dark=bool(rng.integers(2)),
        overlays=overlays,
        panes=PANES[int(rng.choice(len(PANES), p=PANE_WEIGHTS))],
        width=width,
        height=int(np.clip(width * rng.uniform(0.5, 0.8), 300, 800)),
        line_width=int(rng.integers(1, 5)),
        style=float(rng.random()),
    )


def ohlc_for(
    rng: np.random.Generator, closes: Floats, tail: int, flat: str
) -> tuple[Floats, Floats, Floats]:
    """Opens at the previous close, wicks a few % of the range; a constant tail has none."""
    count = closes.size
    opens = np.concatenate(([closes[0]], closes[:-1]))
    scale = max(float(np.ptp(closes)), 1e-3)
    wick = np.abs(rng.normal(0, 0.02 * scale, (2, count)))
    if tail:  # inside the flat tail, wicks stay inside its band
        band = 0.0 if flat == "constant" else 0.003 * scale
        wick[:, count - tail :] = np.minimum(wick[:, count - tail :], band)
    return opens, np.maximum(opens, closes) + wick[0], np.minimum(opens, closes) - wick[1]


def overlays_for(rng: np.random.Generator) -> tuple[Overlay, ...]:
    """None, one to three moving averages, or Bollinger bands (with or without an average)."""
    choice = int(rng.integers(5))
    if choice == 0:
        return ()
    if choice == 4:
        return (Overlay("bollinger", 20),) + ((Overlay("sma", 9),) if rng.random() < 0.5 else ())
    periods = sorted(rng.choice([5, 9, 10, 20, 30, 50], size=choice, replace=False).tolist())
    name = "ema" if rng.random() < 0.3 else "sma"
    return tuple(Overlay(name, int(period)) for period in periods)


# -- indicators, for the libraries that draw only what they are given ------------------


def sma(values: Floats, period: int) -> Floats:
    """Simple moving average; NaN until `period` values are in."""
    out = np.full(values.size, np.nan)
    if values.size >= period:
        out[period - 1 :] = np.convolve(values, np.ones(period) / period, mode="valid")
    return out


def ema(values: Floats, period: int) -> Floats:
    alpha = 2 / (period + 1)
    out = np.empty(values.size)
    out[0] = values[0]
    for index in range(1, values.size):
        out[index] = alpha * values[index] + (1 - alpha) * out[index - 1]
    return out


def bollinger(values: Floats, period: int, spread: float = 2.0) -> tuple[Floats, Floats, Floats]:
    middle = sma(values, period)
    deviation = np.full(values.size, np.nan)
    for index in range(period - 1, values.size):
        deviation[index] = values[index - period + 1 : index + 1].std()
    return middle - spread * deviation, middle, middle + spread * deviation


def rsi(values: Floats, period: int = 14) -> Floats:
    change = np.diff(values, prepend=values[0])
    gain = ema(np.maximum(change, 0), 2 * period - 1)  # Wilder's smoothing
    loss = ema(np.maximum(-change, 0), 2 * period - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(loss > 0, gain / np.where(loss > 0, loss, 1), np.inf)
    return np.where(np.isinf(strength), 100.0, 100 - 100 / (1 + strength))


def macd(values: Floats) -> tuple[Floats, Floats, Floats]:
    """MACD line (12/26), signal (9) and histogram."""
    line = ema(values, 12) - ema(values, 26)
    signal = ema(line, 9)
    return line, signal, line - signal


def overlay_lines(market: Market) -> list[tuple[str, Floats]]:
    """Each overlay as named lines over the closes (Bollinger: lower, middle, upper)."""
    lines: list[tuple[str, Floats]] = []
    for overlay in market.overlays:
        if overlay.name == "bollinger":
            lower, middle, upper = bollinger(market.closes, overlay.period)
            lines += [("BB lower", lower), ("BB basis", middle), ("BB upper", upper)]
        elif overlay.name == "ema":
            lines.append((f"EMA {overlay.period}", ema(market.closes, overlay.period)))
        else:
            lines.append((f"MA {overlay.period}", sma(market.closes, overlay.period)))
    return lines


def as_json(market: Market) -> dict[str, object]:
    """The market for a page's script: plain lists, NaN as null, indicators computed."""

    def clean(values: Floats) -> list[float | None]:
        return [None if np.isnan(v) else round(float(v), 6) for v in values]

    line, signal, histogram = macd(market.closes)
    return {
        "kind": market.kind,
        "dark": market.dark,
        "width": market.width,
        "height": market.height,
        "lineWidth": market.line_width,
        "style": market.style,
        "panes": list(market.panes),
        "overlays": [{"name": o.name, "period": o.period} for o in market.overlays],
        "overlayLines": [{"name": n, "values": clean(v)} for n, v in overlay_lines(market)],
        "times": market.times.tolist(),
        "open": clean(market.opens),
        "high": clean(market.highs),
        "low": clean(market.lows),
        "close": clean(market.closes),
        "volume": clean(market.volumes),
        "rsi": clean(rsi(market.closes)),
        "macd": {"line": clean(line), "signal": clean(signal), "histogram": clean(histogram)},
    }


def describe(market: Market) -> str:
    """The market in a few words: theme, flat tail, overlays, panes, size, line width."""
    words = [market.theme]
    if market.flat:
        words.append(f"flat-{market.flat}-{market.flat_share:.0%}")
    words += [f"{o.name}{o.period}" for o in market.overlays]
    words += list(market.panes)
    words.append(f"{market.width}x{market.height}")
    if market.kind in ("line", "area"):
        words.append(f"lw{market.line_width}")
    return " ".join(words)
