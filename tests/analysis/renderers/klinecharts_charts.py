"""KLineChart (klinecharts, npm), drawn in Chromium with its own candle types and indicators.

Candle types candle_solid and candle_stroke (candles), ohlc (bars) and area (its line
chart); its `light` or built-in `dark` styles; MA, EMA and BOLL computed and drawn by
the library on the candle pane; VOL, MACD and RSI in panes of their own; the price
axis and last-price mark on the right. Every bar is fitted into the width (the
library's default bar spacing would scroll the oldest ones out of view). No plain
line: klinecharts' line chart is its area type.
"""

from __future__ import annotations

from typing import Any

from tests.analysis.market import Pixels
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.browser import ChartPage, require_node_module
from tests.analysis.renderers.markets import Market, as_json

NAME = "klinecharts"
KINDS = RENDERER_KINDS[NAME]


class Klinecharts:
    name = NAME
    kinds = KINDS

    def __init__(self, browser: Any) -> None:
        bundle = require_node_module("klinecharts") / "dist" / "umd" / "klinecharts.min.js"
        self._page = ChartPage(browser, [bundle], "draw_klinecharts.js")

    def __call__(self, market: Market) -> Pixels:
        return self._page.draw(as_json(market), market.width, market.height)
