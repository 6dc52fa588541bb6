"""TradingView's lightweight-charts (npm), drawn in Chromium on its own defaults.

Candlestick, bar (OHLC), line and area series; TradingView's dark colours or the
library's light default; moving averages and Bollinger bands as line series over
the price; the volume as a histogram either on a scale of its own at the bottom of
the price pane or in a pane of its own, RSI or MACD in a further pane; the price
axis, last-price label and price line on the right, as the library draws them.
"""

from __future__ import annotations

from typing import Any

from tests.analysis.market import Pixels
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.browser import ChartPage, require_node_module
from tests.analysis.renderers.markets import Market, as_json

NAME = "lightweight-charts"
KINDS = RENDERER_KINDS[NAME]


class LightweightCharts:
    name = NAME
    kinds = KINDS

    def __init__(self, browser: Any) -> None:
        package = require_node_module("lightweight-charts")
        bundle = package / "dist" / "lightweight-charts.standalone.production.js"
        self._page = ChartPage(browser, [bundle], "draw_lightweight_charts.js")

    def __call__(self, market: Market) -> Pixels:
        return self._page.draw(as_json(market), market.width, market.height)
