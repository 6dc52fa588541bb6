"""The markets every renderer draws: labels true by construction, decided by the seed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis.renderers.markets import (
    FLATS,
    KINDS,
    Market,
    as_json,
    make_market,
    rsi,
    sma,
)
from trade_analysis.domain import Trend

SEEDS = range(30)


def markets(label: Trend) -> list[Market]:
    return [make_market(seed, kind, label) for seed in SEEDS for kind in KINDS]


@pytest.mark.parametrize("label", [Trend.UP, Trend.DOWN])
def test_up_and_down_end_with_a_leg_still_moving_over_the_last_tenth(label: Trend) -> None:
    for market in markets(label):
        closes = market.closes
        tenth = max(2, closes.size // 10)
        move = (closes[-1] - closes[-tenth - 1]) / np.ptp(closes)
        assert (move if label is Trend.UP else -move) >= 0.1, (market.seed, market.kind, move)


def test_none_holds_a_flat_tail_of_a_fifth_to_under_half_the_chart_after_a_move() -> None:
    seen = set()
    for market in markets(Trend.NONE):
        seen.add(market.flat)
        assert 0.2 <= market.flat_share <= 0.46
        tail = market.tail()
        extent = np.ptp(market.closes)
        band = np.ptp(np.concatenate((market.highs[tail], market.lows[tail])))
        assert band <= 0.03 * extent, (market.seed, market.flat, band / extent)
        if market.flat == "constant":  # dead flat: one price, no wicks
            assert np.ptp(market.highs[tail]) == 0 and np.ptp(market.lows[tail]) == 0
            assert np.all(market.closes[tail] == market.closes[-1])
        head = market.closes[: tail.start]
        assert np.ptp(head) > 0.5 * extent  # the move before it fills most of the chart
    assert seen == set(FLATS)


def test_a_market_is_decided_by_its_seed_alone() -> None:
    first, again = make_market(7, "candles", Trend.UP), make_market(7, "candles", Trend.UP)
    assert as_json(first) == as_json(again)
    assert as_json(first) != as_json(make_market(8, "candles", Trend.UP))


def test_ohlc_hold_their_order_and_sizes_stay_in_range() -> None:
    for market in markets(Trend.UP) + markets(Trend.NONE):
        assert np.all(market.lows <= np.minimum(market.opens, market.closes))
        assert np.all(market.highs >= np.maximum(market.opens, market.closes))
        assert np.all(market.lows > 0)
        assert 480 <= market.width <= 1280 and 300 <= market.height <= 800
        assert 1 <= market.line_width <= 4
        if market.kind in ("line", "area"):
            assert market.overlays == ()


def test_the_draws_cover_themes_overlays_and_panes() -> None:
    drawn = markets(Trend.UP) + markets(Trend.DOWN) + markets(Trend.NONE)
    assert {m.dark for m in drawn} == {True, False}
    assert {len(m.panes) for m in drawn} == {0, 1, 2}
    assert {o.name for m in drawn for o in m.overlays} == {"sma", "ema", "bollinger"}


def test_indicators() -> None:
    values = np.array([1.0, 2, 3, 4, 5, 6])
    assert np.isnan(sma(values, 3)[1]) and sma(values, 3)[2:] == pytest.approx([2, 3, 4, 5])
    assert rsi(values)[-1] == 100.0  # only gains
    assert rsi(values[::-1])[-1] == pytest.approx(0.0)  # only losses
