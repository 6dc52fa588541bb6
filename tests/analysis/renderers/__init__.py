"""Chart renderers independent of the reader's own generators, for leave-one-renderer-out.

One module per charting library, each drawing a `markets.Market` with the library's
own code and default look and returning BGR pixels:

| renderer           | kinds                      | where it draws                      |
| ------------------ | -------------------------- | ----------------------------------- |
| lightweight-charts | line, area, candles, bars  | Chromium, npm package               |
| plotly             | line, area, candles, bars  | Chromium, plotly.js from PyPI       |
| mplfinance         | line, area, candles, bars  | matplotlib Agg                      |
| bokeh              | line, area, candles        | Chromium, BokehJS from PyPI         |
| echarts            | line, area, candles        | Chromium, npm package               |
| klinecharts        | area, candles, bars        | Chromium, npm package               |

Kinds a library has no series for stay out of its grid: bokeh and echarts have no
OHLC-bar glyph or series, klinecharts no plain line (its `area` is its line chart).
The two older renderers of tests/analysis/market.py (matplotlib and an SVG page in
Chromium, one geometry drawn twice) are listed here too, under `matplotlib` and
`chromium-svg`, so the accuracy bench treats all alike.

`TUNED` is the set the reader's rules may be fitted on; `HELD_OUT` is only ever
measured. Seeds from `EVALUATION_SEED` on are never tuned on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]

TUNED = ("matplotlib", "chromium-svg", "mplfinance", "plotly", "lightweight-charts")
HELD_OUT = ("bokeh", "echarts", "klinecharts")
RENDERERS = TUNED + HELD_OUT
ALIASES = {"chromium": "chromium-svg"}  # the bench's older name for the SVG page
EVALUATION_SEED = 100_000
KINDS: dict[str, tuple[str, ...]] = {
    "matplotlib": ("line", "area", "candles", "bars"),
    "chromium-svg": ("line", "area", "candles", "bars"),
    "lightweight-charts": ("line", "area", "candles", "bars"),
    "plotly": ("line", "area", "candles", "bars"),
    "mplfinance": ("line", "area", "candles", "bars"),
    "bokeh": ("line", "area", "candles"),
    "echarts": ("line", "area", "candles"),
    "klinecharts": ("area", "candles", "bars"),
}
BROWSER = frozenset(
    {"chromium-svg", "lightweight-charts", "plotly", "bokeh", "echarts", "klinecharts"}
)


@dataclass(frozen=True)
class Drawn:
    """One chart: its pixels, and what it shows in a few words (for misses and file names)."""

    pixels: Pixels
    description: str


Draw = Callable[[int, str, Trend], Drawn]


def resolve(names: list[str]) -> list[str]:
    """Renderer names as given (aliases allowed), checked; ValueError names an unknown one."""
    resolved = [ALIASES.get(name, name) for name in names]
    unknown = [name for name in resolved if name not in RENDERERS]
    if unknown:
        raise ValueError(f"unknown renderer(s) {unknown}; known: {', '.join(RENDERERS)}")
    return resolved


@contextmanager
def open_renderers(names: list[str]) -> Iterator[dict[str, Draw]]:
    """Each named renderer as `draw(seed, kind, label)`; one Chromium serves all that need one."""
    with ExitStack() as stack:
        browser: Any = None
        if BROWSER & set(names):
            from tests.analysis.renderers.browser import chromium

            browser = stack.enter_context(chromium())
        yield {name: _opened(name, browser) for name in names}


def _opened(name: str, browser: Any) -> Draw:
    if name in ("matplotlib", "chromium-svg"):
        return _legacy(name, browser)
    from tests.analysis.renderers import markets

    render = renderer(name, browser)

    def draw(seed: int, kind: str, label: Trend) -> Drawn:
        market = markets.make_market(seed, kind, label)
        return Drawn(render(market), markets.describe(market))

    return draw


def renderer(name: str, browser: Any) -> Callable[[Any], Pixels]:
    """The renderer of that name (a callable taking a `markets.Market`)."""
    if name == "lightweight-charts":
        from tests.analysis.renderers.lightweight_charts import LightweightCharts

        return LightweightCharts(browser)
    if name == "plotly":
        from tests.analysis.renderers.plotly_charts import Plotly

        return Plotly(browser)
    if name == "mplfinance":
        from tests.analysis.renderers.mplfinance_charts import Mplfinance

        return Mplfinance()
    raise ValueError(f"no renderer {name!r}")


def _legacy(name: str, browser: Any) -> Draw:
    """The renderers of tests/analysis/market.py, on that module's own markets."""
    from tests.analysis.market import ChromiumRenderer, make_market, render_matplotlib

    render = render_matplotlib if name == "matplotlib" else ChromiumRenderer(browser.new_page())

    def draw(seed: int, kind: str, label: Trend) -> Drawn:
        market = make_market(seed, kind, label)
        words = [("dark" if market.dark else "light"), market.palette.name]
        words += sorted(market.distractors)
        return Drawn(render(market), " ".join(words))

    return draw
