"""Statistics of the ledger: figures that add up to its trades, and signal skill against
the majority baseline, on constructed trades and on random ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.statistics import (
    LedgerTrade,
    Mark,
    Period,
    Reading,
    Window,
    figures,
    max_drawdown,
    period_start,
    relevant_marks,
    round_trips,
    signal_skill,
    tally,
    tally_by_day,
)

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday


def ledger(
    round_trip_prices: Sequence[tuple[str, str]],
    *,
    bot: str = "b1",
    ticker: str = "AAPL",
    minutes_apart: int = 60,
    reasons: Sequence[str] = (),
) -> list[LedgerTrade]:
    """Buy/sell pairs as the ledger records them: the sell's profit is sell - buy."""
    trades: list[LedgerTrade] = []
    for index, (bought, sold) in enumerate(round_trip_prices):
        buy_at = T0 + timedelta(minutes=minutes_apart * 2 * index)
        sell_at = buy_at + timedelta(minutes=minutes_apart)
        reason = reasons[index] if index < len(reasons) else "signal"
        trades.append(
            LedgerTrade(2 * index, buy_at, bot, ticker, Side.BUY, Decimal(bought), "signal")
        )
        trades.append(
            LedgerTrade(
                2 * index + 1,
                sell_at,
                bot,
                ticker,
                Side.SELL,
                Decimal(sold),
                reason,
                Decimal(sold) - Decimal(bought),
            )
        )
    return trades


def test_win_rate_profit_factor_and_expectancy_of_constructed_trades() -> None:
    trades = ledger([("10", "13"), ("10", "9"), ("10", "12"), ("10", "10")])
    result = figures(trades)
    assert (result.closed_trades, result.wins, result.losses, result.breakeven) == (4, 2, 1, 1)
    assert result.win_rate == 0.5
    assert result.gross_profit == Decimal(5) and result.gross_loss == Decimal(1)
    assert result.profit_factor == Decimal(5)
    assert result.average_win == Decimal("2.5") and result.average_loss == Decimal(1)
    assert result.expectancy == Decimal(1)
    assert result.realised_pnl == Decimal(4)
    assert result.max_drawdown == Decimal(1)  # 3, then 2: one below its best
    assert result.average_holding_seconds == 3600
    assert result.open_trades == 0 and result.unrealised_pnl == 0


def test_no_loss_has_no_profit_factor_and_nothing_closed_has_no_rates() -> None:
    assert figures(ledger([("1", "2")])).profit_factor is None
    empty = figures([])
    assert empty.win_rate is None and empty.expectancy is None and empty.closed_trades == 0


def test_exits_are_counted_by_reason_and_money_stays_exact() -> None:
    trades = ledger(
        [("0.1", "0.3"), ("0.2", "0.1"), ("0.1", "0.2")],
        reasons=["take_profit", "stop_loss", "take_profit"],
    )
    result = figures(trades)
    assert result.exits_by_reason == {"take_profit": 2, "stop_loss": 1}
    assert result.realised_pnl == Decimal("0.2")  # 0.2 - 0.1 + 0.1, no float dust


def test_an_open_position_is_marked_at_the_newest_price_read() -> None:
    trades = ledger([("10", "12")])
    buy = LedgerTrade(9, T0 + timedelta(days=1), "b1", "AAPL", Side.BUY, Decimal(20), "signal")
    marks = [
        Mark("b1", "AAPL", T0 + timedelta(days=1, hours=1), Decimal("21.5")),
        Mark("b1", "AAPL", T0 + timedelta(days=1, hours=2), Decimal("23")),
        Mark("b2", "AAPL", T0 + timedelta(days=1, hours=3), Decimal("99")),  # another bot's
    ]
    result = figures([*trades, buy], marks)
    assert result.open_trades == 1
    assert result.unrealised_pnl == Decimal(3)
    assert result.marked_pnl == Decimal(5)  # 2 banked, 3 on paper
    assert result.equity[-1].marked == Decimal(5) and result.equity[-1].realised == Decimal(2)


def test_a_window_counts_round_trips_by_their_sell_and_the_change_in_open_value() -> None:
    trades = ledger([("10", "12"), ("10", "15"), ("10", "11")], minutes_apart=60 * 12)
    # Round trips sell on day 0 12:00+, day 1 and day 2 (one per day); the window is day 1.
    since = T0 + timedelta(days=1)
    until = T0 + timedelta(days=1, hours=23)
    result = figures(trades, window=Window(since, until))
    assert result.closed_trades == 1 and result.realised_pnl == Decimal(5)
    # An open position across the window's start counts with its change since then.
    buy = LedgerTrade(50, T0 - timedelta(days=1), "b2", "MSFT", Side.BUY, Decimal(100), "signal")
    marks = [
        Mark("b2", "MSFT", since - timedelta(hours=1), Decimal(104)),
        Mark("b2", "MSFT", until - timedelta(hours=1), Decimal(101)),
    ]
    windowed = figures([*trades, buy], marks, Window(since, until))
    assert windowed.unrealised_pnl == Decimal(1)
    assert windowed.marked_pnl == Decimal(5) + Decimal(1) - Decimal(4)


def test_periods_split_realised_pnl_by_day_week_and_month() -> None:
    trades = ledger([("10", "11"), ("10", "13"), ("10", "6")], minutes_apart=60 * 24 * 5)
    by_day = figures(trades, period=Period.DAY).periods
    assert [row.realised_pnl for row in by_day if row.closed_trades] == [1, 3, -4]
    by_week = figures(trades, period=Period.WEEK).periods
    assert all(row.start.weekday() == 0 for row in by_week)
    by_month = figures(trades, period=Period.MONTH).periods
    assert [row.start for row in by_month] == [date(2026, 3, 1)]
    assert by_month[0].realised_pnl == 0 and by_month[0].marked_pnl == 0


def test_period_starts() -> None:
    moment = datetime(2026, 7, 23, 14, 30, tzinfo=UTC)  # a Thursday
    assert period_start(moment, Period.DAY) == date(2026, 7, 23)
    assert period_start(moment, Period.WEEK) == date(2026, 7, 20)
    assert period_start(moment, Period.MONTH) == date(2026, 7, 1)


def test_max_drawdown_is_the_deepest_fall_from_a_best() -> None:
    pnls = [Decimal(x) for x in ("5", "-2", "3", "-4", "-3", "1", "10")]
    # Totals: 5 3 6 2 -1 0 10; best 6 then -1: 7 deep.
    assert max_drawdown(pnls) == Decimal(7)
    assert max_drawdown([Decimal(-3)]) == Decimal(3)  # from the start, 0


# A random ledger: per (bot, ticker), alternating buys and sells at random prices.
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2)
legs = st.lists(
    st.tuples(st.sampled_from(["b1", "b2"]), st.sampled_from(["AAPL", "MSFT"]), prices),
    max_size=60,
)


def random_ledger(steps: list[tuple[str, str, Decimal]]) -> list[LedgerTrade]:
    holding: dict[tuple[str, str], Decimal] = {}
    trades = []
    for index, (bot, ticker, price) in enumerate(steps):
        at = T0 + timedelta(hours=7 * index)
        bought = holding.pop((bot, ticker), None)
        if bought is None:
            holding[(bot, ticker)] = price
            trades.append(LedgerTrade(index, at, bot, ticker, Side.BUY, price, "signal"))
        else:
            profit = price - bought
            trades.append(LedgerTrade(index, at, bot, ticker, Side.SELL, price, "signal", profit))
    return trades


@settings(max_examples=150, deadline=None)
@given(legs)
def test_realised_pnl_is_the_ledger_sum_for_any_trades(
    steps: list[tuple[str, str, Decimal]],
) -> None:
    trades = random_ledger(steps)
    ledger_sum = sum((t.profit for t in trades if t.profit is not None), Decimal(0))
    sells = sum(1 for t in trades if t.side is Side.SELL)
    result = figures(trades, period=Period.WEEK)
    assert result.realised_pnl == ledger_sum
    assert result.closed_trades == sells
    assert result.wins + result.losses + result.breakeven == sells
    assert result.open_trades == sum(1 for t in trades if t.side is Side.BUY) - sells
    assert result.gross_profit - result.gross_loss == ledger_sum
    assert sum((row.realised_pnl for row in result.periods), Decimal(0)) == ledger_sum
    assert sum((row.marked_pnl for row in result.periods), Decimal(0)) == result.marked_pnl
    # Without marks an open position is worth what the buy cost: marked equals realised.
    assert result.marked_pnl == ledger_sum + result.unrealised_pnl == ledger_sum
    assert 0 <= result.max_drawdown <= result.gross_loss
    if result.equity:
        assert result.equity[-1].realised == ledger_sum
    by_bot = [figures([t for t in trades if t.bot == bot]) for bot in ("b1", "b2")]
    assert sum((part.realised_pnl for part in by_bot), Decimal(0)) == ledger_sum
    assert sum(trip.pnl or 0 for trip in round_trips(trades) if trip.closed) == ledger_sum


# -- signal skill ---------------------------------------------------------------------


def readings(series: Sequence[tuple[str, str]], bot: str = "b1") -> list[Reading]:
    return [
        Reading(bot, "AAPL", T0 + timedelta(seconds=i), Trend(trend), Decimal(price))
        for i, (trend, price) in enumerate(series)
    ]


def test_skill_counts_hits_and_the_majority_baseline() -> None:
    series = [
        ("up", "10"),  # next price 11: up, a hit
        ("down", "11"),  # 11, then 12: up, a miss
        ("up", "11"),  # 12: up, a hit
        ("up", "12"),  # 9: down, a miss
        ("none", "9"),  # not a call
        ("down", "9"),  # 9, 9: no move within 2, not judged
        ("down", "9"),  # 9, then 8: down, a hit
        ("down", "9"),  # 8: down, a hit
        ("up", "8"),  # nothing after it: not judged
    ]
    (skill,) = signal_skill(readings(series), horizon=2)
    assert skill.readings == 8
    assert skill.judged == 6 and skill.hits == 4
    # Moves: up, up, up, down, down, down: a tie, so betting either is right half the time.
    assert skill.baseline_hits == 3 and skill.baseline_rate == 0.5
    assert skill.hit_rate == 4 / 6 and skill.edge == 4 / 6 - 0.5
    downs = [(trend, price) for trend, price in series if price != "12"]
    (mostly_down,) = signal_skill(readings(downs), horizon=2)
    assert mostly_down.majority is Trend.DOWN


def test_a_longer_horizon_judges_more_readings() -> None:
    series = [("down", "9"), ("down", "9"), ("down", "9"), ("down", "8")]
    assert signal_skill(readings(series), horizon=1)[0].judged == 1
    assert signal_skill(readings(series), horizon=3)[0].judged == 3


def test_skill_is_per_bot_and_each_ticker_is_its_own_series() -> None:
    mixed = [
        Reading("b1", "AAPL", T0, Trend.UP, Decimal(10)),
        Reading("b1", "MSFT", T0 + timedelta(seconds=1), Trend.UP, Decimal(5)),
        Reading("b1", "AAPL", T0 + timedelta(seconds=2), Trend.UP, Decimal(11)),
        Reading("b2", "AAPL", T0 + timedelta(seconds=3), Trend.DOWN, Decimal(12)),
        Reading("b2", "AAPL", T0 + timedelta(seconds=4), Trend.DOWN, Decimal(13)),
    ]
    b1, b2 = signal_skill(mixed, horizon=5)
    assert (b1.bot, b1.judged, b1.hits) == ("b1", 1, 1)  # AAPL 10 -> 11; MSFT never moves
    assert (b2.bot, b2.judged, b2.hits, b2.baseline_hits) == ("b2", 1, 0, 1)


def test_the_overview_tallies_by_the_day_a_round_trip_opened() -> None:
    # Buys 20 hours apart: 15:00 on the 2nd, 11:00 on the 3rd, 07:00 on the 4th; sells at
    # 01:00, 21:00 and 17:00 (the first one a day later); then a buy still open on the 4th.
    trades = ledger([("10", "12"), ("10", "9"), ("10", "10")], minutes_apart=60 * 10)
    still_open = LedgerTrade(9, T0 + timedelta(hours=50), "b1", "AAPL", Side.BUY, Decimal(1), "")
    trips = round_trips([*trades, still_open])
    days = tally_by_day(trips, lambda moment: moment.date())
    assert list(days) == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    assert [(d.count, d.wins, d.losses) for d in days.values()] == [(1, 1, 0), (1, 0, 1), (2, 0, 0)]
    total = tally(trips)
    assert (total.count, total.wins, total.losses) == (4, 1, 1)
    assert total.total_profit == 2 and total.total_loss == 1 and total.net == 1


marks_strategy = st.lists(
    st.tuples(
        st.sampled_from(["b1", "b2"]),
        st.sampled_from(["AAPL", "MSFT"]),
        st.integers(min_value=-10, max_value=400),  # hours after T0 (before it too)
        prices,
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(
    legs, marks_strategy, st.sampled_from(list(Period)), st.integers(-5, 200), st.integers(0, 400)
)
def test_the_marks_that_count_give_the_figures_all_marks_give(
    steps: list[tuple[str, str, Decimal]],
    raw_marks: list[tuple[str, str, int, Decimal]],
    period: Period,
    since_hours: int,
    span_hours: int,
) -> None:
    trades = random_ledger(steps)
    marks = sorted(
        (
            Mark(bot, ticker, T0 + timedelta(hours=hours), price)
            for bot, ticker, hours, price in raw_marks
        ),
        key=lambda mark: mark.at,
    )
    since = T0 + timedelta(hours=since_hours)
    window = Window(since, since + timedelta(hours=span_hours))
    inside = [trade for trade in trades if window.until is None or trade.at <= window.until]
    relevant = relevant_marks(inside, marks, window, period)
    assert len(relevant) <= len(marks)
    assert figures(inside, relevant, window, period) == figures(inside, marks, window, period)


def test_drawdown_follows_the_order_round_trips_closed_in() -> None:
    # b1 opens first and closes last (+5); b2 opens later, closes first (-3): in the order
    # they closed the realised P&L goes -3, then +2: 3 below its best (0).
    trades = [
        LedgerTrade(1, T0, "b1", "AAPL", Side.BUY, Decimal(10), "signal"),
        LedgerTrade(2, T0 + timedelta(hours=1), "b2", "AAPL", Side.BUY, Decimal(10), "signal"),
        LedgerTrade(
            3, T0 + timedelta(hours=2), "b2", "AAPL", Side.SELL, Decimal(7), "x", Decimal(-3)
        ),
        LedgerTrade(
            4, T0 + timedelta(hours=3), "b1", "AAPL", Side.SELL, Decimal(15), "x", Decimal(5)
        ),
    ]
    result = figures(trades)
    assert result.max_drawdown == Decimal(3)
    assert max(point.drawdown for point in result.equity) == result.max_drawdown
