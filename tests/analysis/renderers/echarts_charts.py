"""Apache ECharts (npm), drawn in Chromium with its own series, themes and defaults.

Candlestick (rising red, falling green: ECharts' defaults), line and area
(`areaStyle`) series; its default theme or its built-in `dark` one; moving
averages and Bollinger bands as smooth lines over the price, with a legend;
volume, RSI and MACD in grids of their own under it; the dataZoom slider (which
draws a small copy of the series) at the bottom. Animation is off, so a chart is
whole when it is screenshotted. No OHLC bars: ECharts has no series for them.
"""

from __future__ import annotations

from typing import Any

from tests.analysis.market import Pixels
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.browser import ChartPage, require_node_module
from tests.analysis.renderers.markets import Market, as_json

NAME = "echarts"
KINDS = RENDERER_KINDS[NAME]


class Echarts:
    name = NAME
    kinds = KINDS

    def __init__(self, browser: Any) -> None:
        bundle = require_node_module("echarts") / "dist" / "echarts.min.js"
        self._page = ChartPage(browser, [bundle], "draw_echarts.js")

    def __call__(self, market: Market) -> Pixels:
        return self._page.draw(as_json(market), market.width, market.height)
