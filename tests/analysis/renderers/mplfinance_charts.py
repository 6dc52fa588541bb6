"""mplfinance (PyPI) on matplotlib's Agg: its own styles, moving averages, panels.

Types candle, ohlc and line (area: the line with mplfinance's `fill_between`
under it); styles yahoo, charles, binance, classic, tradingview, ibd (light) and
nightclouds, mike, binancedark (dark); simple moving averages through `mav`,
exponential ones and Bollinger bands through `addplot` on the price panel;
`volume=True` and RSI or MACD as `addplot` panels below.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np

from tests.analysis.market import Pixels, decode_png
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.markets import Market, macd, overlay_lines, rsi

NAME = "mplfinance"
KINDS = RENDERER_KINDS[NAME]
LIGHT_STYLES = ("yahoo", "charles", "binance", "classic", "tradingview", "ibd")
DARK_STYLES = ("nightclouds", "mike", "binancedark")
TYPES = {"line": "line", "area": "line", "candles": "candle", "bars": "ohlc"}
DPI = 100
# mplfinance asks for font weights DejaVu Sans lacks; matplotlib says so on every chart.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def frame(market: Market) -> Any:
    import pandas as pd

    index = pd.DatetimeIndex(market.times.astype("datetime64[s]"), name="Date")
    columns = {
        "Open": market.opens,
        "High": market.highs,
        "Low": market.lows,
        "Close": market.closes,
        "Volume": market.volumes,
    }
    return pd.DataFrame(columns, index=index)


def addplots(market: Market) -> list[Any]:
    import mplfinance as mpf

    plots = [
        mpf.make_addplot(values, panel=0, width=1)
        for name, values in overlay_lines(market)
        if not name.startswith("MA ")  # simple averages go through `mav`, mplfinance's own
    ]
    panel = 2 if "volume" in market.panes else 1
    if "rsi" in market.panes:
        plots.append(mpf.make_addplot(rsi(market.closes), panel=panel, ylabel="RSI"))
    if "macd" in market.panes:
        line, signal, histogram = macd(market.closes)
        plots += [
            mpf.make_addplot(histogram, panel=panel, type="bar", ylabel="MACD"),
            mpf.make_addplot(line, panel=panel),
            mpf.make_addplot(signal, panel=panel),
        ]
    return plots


def render(market: Market) -> Pixels:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplfinance as mpf

    data = frame(market)
    options: dict[str, Any] = {
        "type": TYPES[market.kind],
        "style": market.pick(DARK_STYLES if market.dark else LIGHT_STYLES),
        "volume": "volume" in market.panes,
        "figsize": (market.width / DPI, market.height / DPI),
        "returnfig": True,
        "warn_too_much_data": 10_000,
    }
    averages = tuple(o.period for o in market.overlays if o.name == "sma")
    if averages:
        options["mav"] = averages
    plots = addplots(market)
    if plots:
        options["addplot"] = plots
    if market.kind in ("line", "area"):
        options["update_width_config"] = {"line_width": market.line_width}
    if market.kind == "area":
        low = float(np.min(market.closes))
        options["fill_between"] = {"y1": market.closes, "y2": low, "alpha": 0.3}
    figure, _ = mpf.plot(data, **options)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(figure)
    return decode_png(buffer.getvalue())


class Mplfinance:
    name = NAME
    kinds = KINDS

    def __call__(self, market: Market) -> Pixels:
        return render(market)
