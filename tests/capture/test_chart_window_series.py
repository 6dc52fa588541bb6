"""The demo chart's series: deterministic, and its last leg goes the way it was told."""

from __future__ import annotations

import itertools

import pytest

from trade_analysis.demo.chart_window import ChartSeries, price_in_title, title_with_price


def last_turning_point(values: list[float]) -> int:
    """Index of the last strict local extreme (direction change of the differences)."""
    steps = [b - a for a, b in itertools.pairwise(values)]
    last = 0
    for i in range(1, len(steps)):
        if steps[i - 1] * steps[i] < 0:
            last = i
    return last


@pytest.mark.parametrize("seed", [1, 7, 42, 1234])
@pytest.mark.parametrize("trend", ["up", "down"])
def test_final_segment_follows_the_trend(trend: str, seed: int) -> None:
    series = ChartSeries(trend, 175.23, seed=seed)  # type: ignore[arg-type]
    values = series.values
    turn = last_turning_point(values)
    tail = values[turn:]
    assert len(tail) >= series.tail
    steps = [b - a for a, b in itertools.pairwise(tail)]
    assert all(s > 0 for s in steps) if trend == "up" else all(s < 0 for s in steps)
    assert values[-1] == pytest.approx(175.23)


def test_flat_tail_stays_within_a_hair_of_the_price() -> None:
    series = ChartSeries("flat", 100.0, seed=3)
    tail = series.values[-series.tail :]
    assert max(tail) - min(tail) < 0.01 * (max(series.values) - min(series.values))


def test_same_seed_same_chart_and_extend_keeps_the_trend() -> None:
    a = ChartSeries("down", 50.0, seed=9)
    b = ChartSeries("down", 50.0, seed=9)
    assert a.values == b.values
    before = a.values[-1]
    assert a.extend() < before


def test_unknown_trend_is_refused() -> None:
    with pytest.raises(ValueError, match="trend must be one of"):
        ChartSeries("sideways", 1.0)  # type: ignore[arg-type]


def test_title_price_round_trip() -> None:
    assert price_in_title("BTC $42,000.50 - Feed") == 42000.5
    assert price_in_title("no price here") == 100.0
    assert title_with_price("AAPL 175.23 - Robinhood", 176.5) == "AAPL 176.50 - Robinhood"
    assert title_with_price("AAPL - Robinhood", 1.0) == "AAPL - Robinhood"


def test_phases_repeat_in_turn() -> None:
    from trade_analysis.demo.chart_window import phase_at

    phases = ["up", "flat", "down"]
    seen = [phase_at(phases, t, 10) for t in (0, 9.9, 10, 25, 30, 61, -5)]
    assert seen == ["up", "up", "flat", "down", "up", "up", "up"]


def test_a_new_phase_turns_the_series() -> None:
    series = ChartSeries("up", 100.0)
    before = series.values[-1]
    series.set_trend("down")
    after = [series.extend() for _ in range(10)]
    assert all(b < a for a, b in zip([before, *after], after, strict=False))
    with pytest.raises(ValueError):
        series.set_trend("sideways")  # type: ignore[arg-type]
