"""The simulator's rules, one behaviour per test, and properties that hold for any signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.simulator import (
    NoOpenPosition,
    Position,
    PositionAlreadyOpen,
    Reason,
    Rules,
    Signal,
    TradeEvent,
    decide,
    manual_order,
)

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def run(
    steps: list[tuple[str, str]], rules: Rules = Rules(), start: Position | None = None
) -> tuple[Position, list[TradeEvent]]:
    """Feed (trend, price) steps one minute apart; return the final position and trades."""
    position = start or Position("bot", "AAPL")
    trades = []
    for minute, (trend, price) in enumerate(steps):
        signal = Signal("bot", "AAPL", Decimal(price), Trend(trend), T0 + timedelta(minutes=minute))
        position, trade = decide(position, signal, rules)
        if trade:
            trades.append(trade)
    return position, trades


def sides(trades: list[TradeEvent]) -> list[tuple[str, str, str]]:
    return [(t.side.value, str(t.price), t.reason.value) for t in trades]


def test_first_up_buys_and_ends_the_first_cycle() -> None:
    position, trades = run([("up", "10")])
    assert sides(trades) == [("buy", "10", "signal")]
    assert position.is_long and position.first_cycle_done


def test_first_down_buys_then_waits_ignoring_ups_until_the_next_down_sells() -> None:
    position, trades = run([("down", "10"), ("up", "11"), ("up", "12"), ("down", "11.5")])
    assert sides(trades) == [("buy", "10", "first_cycle"), ("sell", "11.5", "first_cycle")]
    assert trades[1].profit == Decimal("1.5")
    assert not position.is_long and position.first_cycle_done and not position.waiting


def test_normal_mode_buys_up_while_flat_and_sells_down_while_long() -> None:
    _, trades = run([("up", "10"), ("up", "11"), ("down", "12"), ("down", "11"), ("up", "9")])
    assert sides(trades) == [
        ("buy", "10", "signal"),
        ("sell", "12", "signal"),
        ("buy", "9", "signal"),
    ]
    assert trades[1].profit == Decimal(2)


def test_none_trend_never_trades() -> None:
    position, trades = run([("none", "10"), ("none", "11")])
    assert trades == [] and not position.is_long and not position.first_cycle_done


def test_stop_loss_sells_at_entry_minus_s_and_nothing_else_happens() -> None:
    _, trades = run([("up", "10"), ("up", "8.99")], Rules(stop_loss=Decimal("1")))
    assert sides(trades) == [("buy", "10", "signal"), ("sell", "8.99", "stop_loss")]
    assert trades[1].profit == Decimal("-1.01")


def test_take_profit_sells_at_entry_plus_t_and_down_never_sells() -> None:
    rules = Rules(take_profit=Decimal("2"))
    _, trades = run([("up", "10"), ("down", "11"), ("down", "11.5"), ("up", "12")], rules)
    assert sides(trades) == [("buy", "10", "signal"), ("sell", "12", "take_profit")]


def test_take_profit_in_the_first_cycle_ends_it_without_a_down_sell() -> None:
    rules = Rules(take_profit=Decimal("5"))
    position, trades = run([("down", "10"), ("down", "9")], rules)
    assert sides(trades) == [("buy", "10", "first_cycle")]
    assert position.is_long and position.first_cycle_done and not position.waiting


def test_exit_rule_checked_before_trend_so_a_stop_loss_down_is_one_sell() -> None:
    _, trades = run([("up", "10"), ("down", "5")], Rules(stop_loss=Decimal("1")))
    assert sides(trades) == [("buy", "10", "signal"), ("sell", "5", "stop_loss")]


def test_consecutive_drops_rule_sells_after_n_drops() -> None:
    rules = Rules(sell_after_drops=3)
    _, trades = run(
        [
            ("up", "10"),
            ("up", "9.9"),
            ("up", "9.8"),
            ("up", "9.9"),
            ("up", "9.8"),
            ("up", "9.7"),
            ("up", "9.6"),
        ],
        rules,
    )
    assert sides(trades) == [("buy", "10", "signal"), ("sell", "9.6", "consecutive_drops")]


def test_market_hours_rule_ignores_signals_outside_the_session() -> None:
    rules = Rules(market_hours_only=True)
    saturday = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    evening = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    for moment in (saturday, evening):
        _, trade = decide(
            Position("bot", "AAPL"), Signal("bot", "AAPL", Decimal(1), Trend.UP, moment), rules
        )
        assert trade is None
    _, trade = decide(
        Position("bot", "AAPL"), Signal("bot", "AAPL", Decimal(1), Trend.UP, T0), rules
    )
    assert trade is not None


def test_reversal_rule_buys_an_up_only_after_a_long_enough_down() -> None:
    rules = Rules(reversal_minutes=3)
    start = Position("bot", "AAPL", first_cycle_done=True)
    _, short = run([("down", "10"), ("down", "9"), ("up", "9.5")], rules, start)
    assert short == []
    _, long_enough = run(
        [("down", "10"), ("down", "9"), ("down", "8.5"), ("down", "8"), ("up", "8.2")], rules, start
    )
    assert sides(long_enough) == [("buy", "8.2", "reversal")]


def test_manual_orders_refuse_a_second_buy_and_a_sell_while_flat() -> None:
    flat = Position("bot", "AAPL")
    long, buy = manual_order(flat, Side.BUY, Decimal("10"), T0)
    assert buy.reason is Reason.MANUAL and long.is_long
    with pytest.raises(PositionAlreadyOpen, match="already long"):
        manual_order(long, Side.BUY, Decimal("11"), T0)
    closed, sell = manual_order(long, Side.SELL, Decimal("12.5"), T0)
    assert sell.profit == Decimal("2.5") and not closed.is_long
    with pytest.raises(NoOpenPosition, match="nothing to sell"):
        manual_order(closed, Side.SELL, Decimal("12"), T0)


# -- properties ---------------------------------------------------------------

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
trends = st.sampled_from(list(Trend))
rule_sets = st.builds(
    Rules,
    take_profit=st.none() | st.decimals(min_value=Decimal("0.5"), max_value=Decimal(50), places=2),
    stop_loss=st.none() | st.decimals(min_value=Decimal("0.5"), max_value=Decimal(50), places=2),
    sell_after_drops=st.none() | st.integers(1, 5),
)
signal_steps = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["AAPL", "TSLA"]), trends, prices),
    max_size=80,
)


def simulate(steps: list[tuple[str, str, Trend, Decimal]], rules: Rules) -> list[TradeEvent]:
    positions: dict[tuple[str, str], Position] = {}
    trades = []
    for minute, (bot, ticker, trend, price) in enumerate(steps):
        slot = (bot, ticker)
        signal = Signal(bot, ticker, price, trend, T0 + timedelta(minutes=minute))
        positions[slot], trade = decide(positions.get(slot, Position(bot, ticker)), signal, rules)
        if trade:
            trades.append(trade)
    return trades


@settings(max_examples=300, deadline=None)
@given(signal_steps, rule_sets)
def test_positions_alternate_buy_sell_so_never_two_open_per_bot_and_ticker(steps, rules) -> None:
    last_side: dict[tuple[str, str], Side] = {}
    for trade in simulate(steps, rules):
        slot = (trade.bot, trade.ticker)
        expected = Side.SELL if last_side.get(slot) is Side.BUY else Side.BUY
        assert trade.side is expected
        last_side[slot] = trade.side


@settings(max_examples=300, deadline=None)
@given(signal_steps, rule_sets)
def test_total_pnl_is_the_sum_of_sell_minus_buy(steps, rules) -> None:
    trades = simulate(steps, rules)
    open_buys: dict[tuple[str, str], Decimal] = {}
    expected = Decimal(0)
    for trade in trades:
        slot = (trade.bot, trade.ticker)
        if trade.side is Side.BUY:
            open_buys[slot] = trade.price
        else:
            expected += trade.price - open_buys.pop(slot)
    reported = sum((t.profit for t in trades if t.profit is not None), Decimal(0))
    assert reported == expected


@pytest.mark.parametrize(
    ("rules", "first_allowed"),
    [
        (Rules(), 2),
        (Rules(cooldown_seconds=150), 4),  # 150 s after the sell at minute 1 (the minute-4 up)
        (Rules(min_reentry_seconds=240), 4),  # 240 s after the buy at minute 0
    ],
    ids=["no wait", "cooldown after the sell", "minimum delay between entries"],
)
def test_waits_hold_a_new_buy_back_until_they_end(rules: Rules, first_allowed: int) -> None:
    steps = [("up", "10"), ("down", "9"), ("up", "11"), ("up", "12"), ("up", "13"), ("up", "14")]
    _, trades = run(steps, rules)
    rebuy = next(t for t in trades[2:] if t.side is Side.BUY)
    assert rebuy.at == T0 + timedelta(minutes=first_allowed)


def test_a_manual_buy_is_not_held_back_by_a_wait() -> None:
    position, _ = run([("up", "10"), ("down", "9")], Rules(cooldown_seconds=3600))
    _, trade = manual_order(position, Side.BUY, Decimal(9), T0 + timedelta(minutes=2))
    assert trade.side is Side.BUY


def test_with_the_first_cycle_off_the_basic_rule_trades_from_the_first_reading() -> None:
    position, trades = run([("down", "10"), ("up", "11"), ("down", "9")], Rules(first_cycle=False))
    assert sides(trades) == [("buy", "11", "signal"), ("sell", "9", "signal")]
    assert not position.is_long and not position.waiting
