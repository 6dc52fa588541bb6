"""bokeh (PyPI), its document built in Python and drawn in Chromium by the BokehJS it ships.

Candles as bokeh's own gallery draws them (a segment per wick, a vbar per body),
lines, and areas (`varea`, with or without the line over it); themes default,
light_minimal and caliber (light), dark_minimal and night_sky (dark); overlays as
lines; volume, RSI and MACD in plots of their own under the price, sharing its
x range; the toolbar where bokeh puts it, on the right. No OHLC bars: bokeh has
no glyph for them.
"""

from __future__ import annotations

import json
from typing import Any

from tests.analysis.market import Pixels
from tests.analysis.renderers import KINDS as RENDERER_KINDS
from tests.analysis.renderers.browser import ChartPage
from tests.analysis.renderers.markets import Market, macd, overlay_lines, rsi

NAME = "bokeh"
KINDS = RENDERER_KINDS[NAME]
LIGHT_THEMES = ("default", "light_minimal", "caliber")
DARK_THEMES = ("dark_minimal", "night_sky")
LINE_COLOURS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def document(market: Market) -> tuple[Any, str]:
    """The bokeh layout of the market, and the theme's name."""
    from bokeh.layouts import gridplot

    theme = theme_of(market)
    main_height = market.height if not market.panes else round(market.height * 0.6)
    price = price_plot(market, main_height)
    plots = [price]
    for pane in market.panes:
        height = round((market.height - main_height) / len(market.panes))
        plots.append(pane_plot(market, pane, height, price.x_range))
    if len(plots) == 1:
        return price, theme
    return gridplot([[plot] for plot in plots], toolbar_location="right"), theme


def price_plot(market: Market, height: int) -> Any:
    from bokeh.plotting import figure

    times = market.times * 1000  # bokeh's datetime axis counts milliseconds
    plot = figure(x_axis_type="datetime", width=market.width, height=height)
    if market.kind == "candles":
        step = float(times[1] - times[0]) if times.size > 1 else 60_000.0
        rising = market.closes >= market.opens
        wick = "white" if market.dark else "black"
        plot.segment(times, market.highs, times, market.lows, color=wick)
        for mask, colour in ((rising, "#D5E1DD"), (~rising, "#F2583E")):
            plot.vbar(
                times[mask], 0.6 * step, market.opens[mask], market.closes[mask],
                fill_color=colour, line_color=wick,
            )  # fmt: skip
    else:
        if market.kind == "area":
            base = float(market.closes.min() - 0.1 * (market.closes.max() - market.closes.min()))
            plot.varea(times, y1=base, y2=market.closes, fill_alpha=0.4)
        if market.kind == "line" or market.style < 0.5:
            plot.line(times, market.closes, line_width=market.line_width)
    for index, (name, values) in enumerate(overlay_lines(market)):
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        plot.line(times, values, color=colour, legend_label=name)
    return plot


def pane_plot(market: Market, pane: str, height: int, x_range: Any) -> Any:
    from bokeh.plotting import figure

    times = market.times * 1000
    plot = figure(x_axis_type="datetime", width=market.width, height=height, x_range=x_range)
    step = float(times[1] - times[0]) if times.size > 1 else 60_000.0
    if pane == "volume":
        plot.vbar(times, 0.6 * step, market.volumes)
    elif pane == "rsi":
        plot.line(times, rsi(market.closes), color="#9467bd")
    else:
        line, signal, histogram = macd(market.closes)
        plot.vbar(times, 0.6 * step, histogram, fill_alpha=0.5)
        plot.line(times, line, color="#1f77b4")
        plot.line(times, signal, color="#ff7f0e")
    return plot


def theme_of(market: Market) -> str:
    return market.pick(DARK_THEMES if market.dark else LIGHT_THEMES)


class Bokeh:
    name = NAME
    kinds = KINDS

    def __init__(self, browser: Any) -> None:
        from bokeh.resources import INLINE

        self._page = ChartPage(browser, list(INLINE.js_raw), "draw_bokeh.js")

    def __call__(self, market: Market) -> Pixels:
        from bokeh.embed import json_item
        from bokeh.themes import built_in_themes

        layout, theme_name = document(market)
        theme = built_in_themes.get(theme_name)
        item = json_item(layout, theme=theme) if theme is not None else json_item(layout)
        background = "#15191C" if market.dark else "#ffffff"
        spec = {"item": json.dumps(item), "background": background}
        return self._page.draw(spec, market.width, market.height)

    def style(self, market: Market) -> str:
        return theme_of(market)
