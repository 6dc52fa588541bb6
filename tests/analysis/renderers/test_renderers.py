"""Each renderer draws what its market says: direction, theme, panes, size.

Browser renderers skip with a reason when chromium or the npm packages
(`npm ci` in tests/analysis/renderers/js) are missing, and fail instead under
TA_REQUIRE_E2E=1. Nothing here measures the reader: bench/bench_reader_accuracy.py
does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from tests.analysis.renderers import BROWSER, KINDS, Pixels, renderer
from tests.analysis.renderers.markets import Market, make_market
from trade_analysis.domain import Trend

OWN = ["lightweight-charts", "plotly", "mplfinance"]
Render = Callable[[Market], Pixels]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.analysis.renderers.browser import chromium

    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module", params=OWN)
def render(request: pytest.FixtureRequest) -> Render:
    name: str = request.param
    opened = request.getfixturevalue("browser") if name in BROWSER else None
    drawn: Render = renderer(name, opened)
    return drawn


def bare(market: Market, **changes: Any) -> Market:
    """The market without overlays or panes, at a fixed size."""
    fields: dict[str, Any] = {"overlays": (), "panes": (), "width": 800, "height": 500}
    return replace(market, **(fields | changes))


def mirrored(market: Market) -> Market:
    """The same chart upside down in price: an `up` market becomes a `down` one."""
    top = float(market.highs.max() + market.lows.min())
    return replace(
        market,
        label=Trend.DOWN if market.label is Trend.UP else Trend.UP,
        opens=top - market.opens,
        closes=top - market.closes,
        highs=top - market.lows,
        lows=top - market.highs,
    )


def ink(pixels: Pixels) -> np.ndarray:
    """Pixels away from the background (the commonest colour)."""
    background = commonest_colour(pixels)
    return np.abs(pixels.astype(int) - background).sum(axis=2) > 60


def commonest_colour(pixels: Pixels) -> np.ndarray:
    packed = pixels.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], np.int32)
    value = int(np.bincount(packed.ravel()).argmax())
    return np.array([value >> 16, (value >> 8) & 255, value & 255])


def kind_of(render: Any) -> tuple[str, ...]:
    return KINDS[render.name]


@pytest.mark.browser
def test_the_chart_has_the_market_size(render: Render) -> None:
    market = make_market(1, kind_of(render)[-1], Trend.UP)
    pixels = render(market)
    assert pixels.shape == (market.height, market.width, 3)
    assert pixels.dtype == np.uint8


@pytest.mark.browser
def test_an_up_chart_ends_above_where_its_mirror_ends(render: Render) -> None:
    """Up and its mirrored down differ in the newest part, where up's ink lies higher."""
    for kind in kind_of(render):
        up = bare(make_market(3, kind, Trend.UP), dark=False)
        up_ink, down_ink = ink(render(up)), ink(render(mirrored(up)))
        differ = up_ink != down_ink
        columns = np.flatnonzero(differ.any(axis=0))
        assert columns.size > 0, f"{kind}: up and down drawn alike"
        newest = slice(columns[-1] - max(4, columns.size // 12), columns[-1] + 1)
        rows = np.arange(up.height)[:, None]
        up_y = float((rows * up_ink[:, newest]).sum() / up_ink[:, newest].sum())
        down_y = float((rows * down_ink[:, newest]).sum() / down_ink[:, newest].sum())
        assert up_y < down_y, f"{kind}: up's newest ink at y {up_y:.0f}, down's at {down_y:.0f}"


@pytest.mark.browser
def test_a_dark_theme_is_dark_and_a_light_one_light(render: Render) -> None:
    market = bare(make_market(5, kind_of(render)[0], Trend.DOWN))
    for dark in (True, False):
        pixels = render(replace(market, dark=dark))
        background = float(commonest_colour(pixels).mean())
        assert (background < 60) if dark else (background > 200), (dark, background)


@pytest.mark.browser
def test_the_volume_pane_is_drawn_under_the_price_and_only_when_asked(render: Render) -> None:
    """Shuffled volumes change the lower part of a chart with a volume pane, and none without."""
    market = bare(make_market(6, kind_of(render)[-1], Trend.UP), panes=("volume",))
    shuffled = replace(market, volumes=np.random.default_rng(0).permutation(market.volumes))
    changed = np.flatnonzero(np.any(render(market) != render(shuffled), axis=(1, 2)))
    assert changed.size > 0
    assert changed.min() > market.height * 0.5, f"volume drawn from y {changed.min()}"
    plain, plain_shuffled = bare(market), bare(shuffled)
    assert np.array_equal(render(plain), render(plain_shuffled))


@pytest.mark.browser
def test_rsi_and_macd_panes_are_drawn_under_the_price(render: Render) -> None:
    """Swapping the indicator pane changes mostly the lower half of the chart.

    Mostly: a library that lists the lines in a legend beside the plot may narrow the
    plot for the longer list, which moves the price series a little too.
    """
    market = bare(make_market(8, kind_of(render)[0], Trend.UP), dark=True)
    rsi = render(replace(market, panes=("volume", "rsi")))
    macd = render(replace(market, panes=("volume", "macd")))
    changed = np.any(rsi != macd, axis=2)
    below = changed[market.height // 2 :].sum() / max(1, changed.sum())
    assert changed.sum() > 0
    assert below > 0.7, f"only {below:.0%} of the change in the lower half"
