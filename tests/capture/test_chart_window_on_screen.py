"""The demo chart window as the capture layer sees it: trend on screen, live title."""

from __future__ import annotations

import re
from contextlib import closing

import numpy as np
import pytest
from tests.support.screen import colour_mask, wait_captured, wait_drawn
from tests.support.windows import WindowLauncher
from tests.support.xvfb import wait_until

from trade_analysis.capture.sources import open_source

pytestmark = pytest.mark.x11


def line_heights(pixels: np.ndarray, colour: str) -> np.ndarray:
    """Mean row of the line in each column that has line pixels (NaN elsewhere)."""
    mask = colour_mask(pixels, colour)
    rows = np.arange(mask.shape[0])[:, None]
    counts = mask.sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, (mask * rows).sum(axis=0) / counts, np.nan)


@pytest.mark.parametrize(("trend", "colour"), [("up", "#ff2a00"), ("down", "#00c805")])
def test_last_segment_on_screen_goes_the_given_way(
    chart_windows: WindowLauncher, trend: str, colour: str
) -> None:
    """Line colour is independent of trend: a red line can go up, a green one down."""
    chart = chart_windows.chart(
        f"TRND 50.00 - {trend}", trend=trend, color=colour, width=600, height=300, grid=True
    )
    # Listed is not yet painted, and the first capture makes it paint again.
    shown = wait_drawn(chart_windows.display, chart.info.x, chart.info.y, 600, 300, colour)
    with closing(open_source(chart_windows.display)) as source:
        frame = wait_captured(
            source, chart.hwnd, lambda f: np.array_equal(f.pixels, shown), what="the chart"
        )
    heights = line_heights(frame.pixels, colour)
    columns = np.flatnonzero(~np.isnan(heights))
    tail = heights[columns[int(len(columns) * 0.75)] : columns[-1] + 1]
    tail = tail[~np.isnan(tail)]
    # Screen rows grow downwards: going up means the row number falls.
    if trend == "up":
        assert tail[-1] < tail[0] - 20
    else:
        assert tail[-1] > tail[0] + 20


def test_animated_window_updates_the_price_in_its_title(chart_windows: WindowLauncher) -> None:
    chart = chart_windows.chart("ANIM 100.00 - Robinhood", animate=True, interval_ms=100)
    titles: set[str] = set()

    def title_changed() -> bool:
        with closing(open_source(chart_windows.display)) as source:
            titles.add(source.capture(chart.hwnd).title)
        return len(titles) >= 3

    wait_until(title_changed, timeout=10, what="the animated title to change")
    for title in titles:
        assert re.fullmatch(r"ANIM \d+\.\d\d - Robinhood", title), title
