"""The chart model's procedural renderer: labels follow the prices, looks vary, seeds repeat."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from training.chart_model.synthetic import closes_for, draw_chart, label_of, page

from trade_analysis.domain import Trend


def test_a_rise_into_the_right_edge_is_up_and_a_fall_down() -> None:
    rise = np.concatenate((np.zeros(50), np.linspace(0, 10, 50)))
    assert label_of(rise) is Trend.UP
    assert label_of(-rise) is Trend.DOWN


def test_a_move_then_a_held_price_is_none() -> None:
    held = np.concatenate((np.linspace(0, 10, 60), np.full(40, 10.0)))
    assert label_of(held) is Trend.NONE


def test_a_series_that_is_neither_has_no_label() -> None:
    drifting = np.concatenate((np.linspace(0, 10, 90), np.linspace(10, 10.8, 10)))
    assert label_of(drifting) is None
    assert label_of(np.full(30, 3.0)) is None  # no range at all


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), label=st.sampled_from(list(Trend)), count=st.integers(25, 400)
)
def test_generated_closes_mostly_carry_their_label(seed: int, label: Trend, count: int) -> None:
    rng = np.random.default_rng(seed)
    labels = [label_of(closes_for(rng, label, count)) for _ in range(20)]
    assert labels.count(label) >= 5  # draw_chart draws again until one does


@pytest.mark.parametrize("seed", range(30))
def test_a_chart_is_drawn_the_same_from_the_same_seed(seed: int) -> None:
    chart = draw_chart(seed)
    again = draw_chart(seed)
    assert chart.trend is again.trend and chart.kind == again.kind
    assert np.array_equal(chart.pixels, again.pixels)
    assert chart.pixels.dtype == np.uint8 and chart.pixels.shape[2] == 3
    assert chart.kind in ("line", "candles", "bars")


def test_charts_vary_in_size_theme_label_and_kind() -> None:
    charts = [draw_chart(seed) for seed in range(60)]
    assert {chart.trend for chart in charts} == set(Trend)
    assert {chart.kind for chart in charts} == {"line", "candles", "bars"}
    assert len({chart.pixels.shape[:2] for chart in charts}) > 50
    brightness = [float(chart.pixels.mean()) for chart in charts]
    assert min(brightness) < 80 and max(brightness) > 180  # dark and light themes


def test_an_empty_chart_has_no_trend_and_no_series() -> None:
    for seed in range(10):
        empty, full = draw_chart(seed, empty=True), draw_chart(seed)
        assert empty.trend is Trend.NONE
        assert not np.array_equal(empty.pixels, full.pixels)


@pytest.mark.parametrize("seed", range(12))
def test_a_chart_in_a_page_is_kept_whole_among_the_pages_parts(seed: int) -> None:
    chart = draw_chart(seed).pixels[:200, :300]
    framed = page(chart, np.random.default_rng(seed), (255, 255, 255))
    assert framed.shape[0] >= chart.shape[0] and framed.shape[1] >= chart.shape[1]
    match = cv2.matchTemplate(framed, chart, cv2.TM_SQDIFF)
    top, left = np.unravel_index(int(match.argmin()), match.shape)
    found = framed[top : top + chart.shape[0], left : left + chart.shape[1]]
    assert np.array_equal(found, chart)  # the chart itself, pixel for pixel


def test_some_charts_sit_in_pages_with_room_after_their_series() -> None:
    sizes = [draw_chart(seed).pixels.shape for seed in range(80)]
    wide = [width / height for height, width, _ in sizes]
    assert max(wide) > 2.2 and min(wide) < 0.9  # pages add width (a side column) or height


def test_a_dead_market_is_none_and_a_steady_trend_is_up_or_down() -> None:
    for seed in range(8):
        assert draw_chart(seed, flat=True).trend is Trend.NONE
        assert draw_chart(seed, steady=True).trend in (Trend.UP, Trend.DOWN)


def test_an_even_trend_over_the_whole_window_is_a_trend() -> None:
    steady = np.linspace(0, 10, 100)
    assert label_of(steady) is Trend.UP and label_of(-steady) is Trend.DOWN
