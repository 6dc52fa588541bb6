"""plotly (PyPI), its figure built in Python and drawn in Chromium by the plotly.js it ships.

Candlestick (with its default range slider), OHLC, line and area (`fill='tozeroy'`,
whose axis may start at zero) scatter traces; templates plotly, plotly_white,
ggplot2, simple_white (light) and plotly_dark; moving averages and Bollinger bands as
line traces with the legend plotly shows for several traces; volume, RSI and MACD
in subplots under the price; the mode bar always shown on some charts (plotly shows
it on hover otherwise).
"""

from __future__ import annotations

from typing import Any

from tests.analysis.market import Pixels
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.browser import ChartPage
from tests.analysis.renderers.markets import Market, macd, overlay_lines, rsi

NAME = "plotly"
KINDS = RENDERER_KINDS[NAME]
LIGHT_TEMPLATES = ("plotly", "plotly_white", "ggplot2", "simple_white")


def figure(market: Market) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = 1 + len(market.panes)
    heights = [0.6] + [0.4 / len(market.panes)] * len(market.panes) if market.panes else [1.0]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, row_heights=heights)
    times = market.times.astype("datetime64[s]").astype(str).tolist()
    fig.add_trace(price_trace(market, times), row=1, col=1)
    for name, values in overlay_lines(market):
        fig.add_trace(go.Scatter(x=times, y=values, mode="lines", name=name), row=1, col=1)
    for row, pane in enumerate(market.panes, start=2):
        for trace in pane_traces(market, pane, times):
            fig.add_trace(trace, row=row, col=1)
    template = "plotly_dark" if market.dark else market.pick(LIGHT_TEMPLATES)
    fig.update_layout(template=template, width=market.width, height=market.height)
    return fig


def price_trace(market: Market, times: list[str]) -> Any:
    import plotly.graph_objects as go

    ohlc = {"open": market.opens, "high": market.highs, "low": market.lows, "close": market.closes}
    if market.kind == "candles":
        return go.Candlestick(x=times, name="price", **ohlc)
    if market.kind == "bars":
        return go.Ohlc(x=times, name="price", **ohlc)
    fill = "tozeroy" if market.kind == "area" else None
    line = {"width": market.line_width}
    return go.Scatter(x=times, y=market.closes, mode="lines", fill=fill, line=line, name="price")


def pane_traces(market: Market, pane: str, times: list[str]) -> list[Any]:
    import plotly.graph_objects as go

    if pane == "volume":
        return [go.Bar(x=times, y=market.volumes, name="volume")]
    if pane == "rsi":
        return [go.Scatter(x=times, y=rsi(market.closes), mode="lines", name="RSI 14")]
    line, signal, histogram = macd(market.closes)
    return [
        go.Bar(x=times, y=histogram, name="histogram"),
        go.Scatter(x=times, y=line, mode="lines", name="MACD"),
        go.Scatter(x=times, y=signal, mode="lines", name="signal"),
    ]


class Plotly:
    name = NAME
    kinds = KINDS

    def __init__(self, browser: Any) -> None:
        from plotly.offline import get_plotlyjs

        self._page = ChartPage(browser, [get_plotlyjs()], "draw_plotly.js")

    def __call__(self, market: Market) -> Pixels:
        config = {"displayModeBar": True} if market.style * 7 % 1 < 0.4 else {}
        spec = {"figure": figure(market).to_json(), "config": config}
        return self._page.draw(spec, market.width, market.height)
