"""The indicator rules against RSI, Bollinger bands and slopes computed here by hand."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from pydantic import ValidationError

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.indicators import (
    IndicatorBook,
    IndicatorSettings,
    IndicatorState,
    RsiBollingerSettings,
    SignalSource,
    SlopeSettings,
    Verdict,
    combine,
    distinct_readings,
)

SERIES = [100 + 8 * math.sin(i / 4) + 0.3 * ((i * 7) % 5) for i in range(80)]


def wilder_rsi(prices: list[float], period: int) -> list[float | None]:
    """RSI with Wilder's smoothing: a simple mean of the first `period` moves, then
    (previous * (period - 1) + move) / period."""
    moves = np.diff(np.asarray(prices))
    gains, losses = np.clip(moves, 0, None), np.clip(-moves, 0, None)
    out: list[float | None] = [None] * len(prices)
    if len(moves) < period:
        return out
    gain, loss = gains[:period].mean(), losses[:period].mean()
    for index in range(period, len(prices)):
        if index > period:
            gain = (gain * (period - 1) + gains[index - 1]) / period
            loss = (loss * (period - 1) + losses[index - 1]) / period
        out[index] = 100.0 if loss == 0 else 100 - 100 / (1 + gain / loss)
    return out


def bands(prices: list[float], period: int, sigma: float) -> tuple[float, float]:
    window = np.asarray(prices[-period:])
    return window.mean() - sigma * window.std(), window.mean() + sigma * window.std()


def test_rsi_and_bands_agree_with_a_plain_calculation() -> None:
    rule = RsiBollingerSettings()
    state = IndicatorState(IndicatorSettings(rsi_bollinger=rule))
    expected_rsi = wilder_rsi(SERIES, 14)
    for index, price in enumerate(SERIES):
        verdict = state.add(price)
        rsi = expected_rsi[index]
        if rsi is None:
            assert verdict.why == f"RSI warming up ({index}/14)"
            continue
        if index < 19:
            assert verdict.why == f"Bollinger bands warming up ({index + 1}/20)"
            continue
        lower, upper = bands(SERIES[: index + 1], 20, 2.0)
        if rsi <= 30 and price <= lower:
            assert verdict.side is Side.BUY
        elif rsi >= 70 and price >= upper:
            assert verdict.side is Side.SELL
        else:
            assert verdict.side is None
        assert f"RSI {rsi:.1f}" in verdict.why
    talipp_rsi = state._rules[0].rsi[-1]  # type: ignore[union-attr]
    assert talipp_rsi == pytest.approx(expected_rsi[-1])


def test_a_fall_through_the_floor_and_the_lower_band_buys_and_says_why() -> None:
    prices = [100.0] * 20 + [100.5, 99.5] * 5 + [97.0, 95.0]
    state = IndicatorState(IndicatorSettings(rsi_bollinger=RsiBollingerSettings()))
    verdicts = [state.add(price) for price in prices]
    rsi = wilder_rsi(prices, 14)[-1]
    lower, _ = bands(prices, 20, 2.0)
    assert rsi is not None and rsi <= 30 and prices[-1] <= lower
    assert verdicts[-1] == Verdict(
        Side.BUY, f"RSI {rsi:.1f} <= 30 and price 95 <= lower band {lower:.2f}".rstrip("0")
    )
    assert all(verdict.side is not Side.BUY for verdict in verdicts[:-1])


def test_a_rise_over_the_ceiling_and_the_upper_band_sells() -> None:
    prices = [100.0, 100.5] * 10 + [103.0, 106.0]
    state = IndicatorState(IndicatorSettings(rsi_bollinger=RsiBollingerSettings()))
    verdict = [state.add(price) for price in prices][-1]
    assert verdict.side is Side.SELL
    assert verdict.why.startswith("RSI ") and ">= 70 and price 106 >= upper band" in verdict.why


def test_slope_is_the_least_squares_slope_in_per_cent_of_the_mean() -> None:
    period = 7
    state = IndicatorState(IndicatorSettings(slope=SlopeSettings(period=period, threshold_pct=1)))
    for index, price in enumerate(SERIES):
        verdict = state.add(price)
        if index < period - 1:
            assert verdict == Verdict(None, f"slope warming up ({index + 1}/{period})")
            continue
        window = SERIES[index - period + 1 : index + 1]
        slope = np.polyfit(np.arange(period), window, 1)[0] / np.mean(window) * 100
        assert f"slope {slope:+.2f}%/reading" in verdict.why
        expected = Side.BUY if slope >= 1 else Side.SELL if slope <= -1 else None
        assert verdict.side is expected


def test_purging_old_input_changes_no_value() -> None:
    settings = IndicatorSettings(
        rsi_bollinger=RsiBollingerSettings(rsi_period=3, bollinger_period=4),
        slope=SlopeSettings(period=3, threshold_pct=0.5),
    )
    long_series = SERIES * 3
    state = IndicatorState(settings)
    verdicts = [state.add(price) for price in long_series]
    assert state.keep < len(long_series) / 4  # it did purge
    fresh = IndicatorState(settings)
    tail = [fresh.add(price) for price in long_series[-60:]]
    assert [v.side for v in verdicts[-10:]] == [v.side for v in tail[-10:]]


def test_both_rules_must_agree_to_act() -> None:
    state = IndicatorState(
        IndicatorSettings(
            rsi_bollinger=RsiBollingerSettings(), slope=SlopeSettings(period=3, threshold_pct=50)
        )
    )
    prices = [100.0] * 20 + [100.5, 99.5] * 5 + [97.0, 95.0]
    verdict = [state.add(price) for price in prices][-1]
    assert verdict.side is None  # RSI/bands say buy; a 50 %/reading slope is not there
    assert "lower band" in verdict.why and "within ±50%" in verdict.why


@pytest.mark.parametrize(
    ("signal", "trend", "side", "expected"),
    [
        (SignalSource.INDICATORS, Trend.DOWN, Side.BUY, Trend.UP),
        (SignalSource.BOTH, Trend.UP, Side.BUY, Trend.UP),
        (SignalSource.BOTH, Trend.DOWN, Side.BUY, Trend.NONE),
        (SignalSource.BOTH, Trend.UP, None, Trend.NONE),
        (SignalSource.TREND, Trend.DOWN, Side.BUY, Trend.DOWN),
    ],
)
def test_the_trend_and_the_indicators_combine_as_the_bot_says(
    signal: SignalSource, trend: Trend, side: Side | None, expected: Trend
) -> None:
    result, why = combine(signal, trend, Verdict(side, "RSI 20.0 <= 30"))
    assert result is expected
    assert ("RSI 20.0" in why) is (signal is not SignalSource.TREND)


def test_the_book_makes_a_state_from_earlier_prices_only_when_it_must() -> None:
    settings = IndicatorSettings(rsi_bollinger=RsiBollingerSettings(rsi_period=3))
    asked: list[int] = []

    def history(count: int) -> list[Decimal]:
        asked.append(count)
        return [Decimal(p) for p in ("10", "11", "12")]

    book = IndicatorBook()
    first = book.reading("b", "T", settings, Decimal("13"), history, Decimal("12"))
    second = book.reading("b", "T", settings, Decimal("14"), history, Decimal("13"))
    assert len(asked) == 1
    assert first.why == "Bollinger bands warming up (4/20)"
    assert second.why == "Bollinger bands warming up (5/20)"
    changed = settings.model_copy(update={"signal": SignalSource.BOTH})
    book.reading("b", "T", changed, Decimal("15"), history, Decimal("14"))
    assert len(asked) == 2  # new settings: made again
    # The position saw 17 last, not the 15 this state saw: readings it missed.
    missed = book.reading("b", "T", changed, Decimal("18"), history, Decimal("17"))
    assert len(asked) == 3 and missed.why == "Bollinger bands warming up (4/20)"


def test_a_repeated_reading_counts_once() -> None:
    readings = [(Decimal(1), "up"), (Decimal(1), "up"), (Decimal(2), "up"), (Decimal(1), "up")]
    assert distinct_readings(readings) == [Decimal(1), Decimal(2), Decimal(1)]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"rsi_bollinger": {"rsi_period": 1}}, "greater than or equal to 2"),
        ({"rsi_bollinger": {"rsi_floor": 70, "rsi_ceiling": 30}}, "must be under rsi_ceiling"),
        ({"rsi_bollinger": {"bollinger_sigma": 0}}, "greater than 0"),
        ({"slope": {"period": 5}}, "threshold_pct"),
        ({"signal": "both"}, "give rsi_bollinger or slope"),
        ({"rsi_bollinger": {}, "signal": "sometimes"}, "signal"),
    ],
)
def test_bad_indicator_settings_say_what_is_wrong(body: dict, detail: str) -> None:
    with pytest.raises(ValidationError, match=detail):
        IndicatorSettings.model_validate(body)
