"""Statistics of the ledger: round trips, P&L by period, win rate, drawdown, signal skill.

Pure: the ledger's trades, the prices read since and the bots' readings in,
figures out; no clock, no database. Money stays `Decimal` throughout: a
round trip's P&L is the ledger's own `profit` of its sell, so the realised
total is the ledger's sum, to the cent and beyond.

Words used here:
- a **round trip** is a buy and the sell that closed it (same bot and ticker);
  a buy not yet sold is an open round trip, marked at the newest price read;
- **realised** P&L is what closed round trips banked; **marked** P&L adds the
  change in the open positions' value (marked to market) over the same span;
- a **reading** is one observation's trend (`up`, `down`, `none`) with its price.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from trade_analysis.domain import Side, Trend

ZERO = Decimal(0)
# Averages and ratios of money: exact to the ledger's own scale (NUMERIC(28, 10)).
_PLACES = Decimal("1e-10")
# The smallest step of a datetime.
_TICK = timedelta(microseconds=1)


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks: Monday to Sunday
    MONTH = "month"


def period_start(moment: datetime, period: Period) -> date:
    """The first day of the day, week (Monday) or month `moment` falls in."""
    day = moment.date()
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


@dataclass(frozen=True, slots=True)
class LedgerTrade:
    """A trade as the ledger keeps it. `fees` (both legs' costs, in money) are already in
    a sell's `profit`; they are counted apart only to say how much costs took."""

    id: int
    at: datetime
    bot: str
    ticker: str
    side: Side
    price: Decimal
    reason: str
    profit: Decimal | None = None
    quantity: Decimal = Decimal(1)
    fees: Decimal = ZERO
    fill_price: Decimal | None = None  # the price it filled at (None: `price`)
    why: str | None = None  # what the rule said when it traded (None: the reason says it)

    @property
    def filled(self) -> Decimal:
        return self.price if self.fill_price is None else self.fill_price


class Mark(NamedTuple):
    """A price read for a bot's ticker at a moment: what an open position is worth then.
    (Tuples: a capture makes one a second, and a tuple is the cheapest to build.)"""

    bot: str
    ticker: str
    at: datetime
    price: Decimal


class Reading(NamedTuple):
    """One observation of a bot: the trend it read and the price beside it."""

    bot: str
    ticker: str | None
    at: datetime
    trend: Trend
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A buy and its sell; `exit_time` is None while the position is open. A sell the
    ledger holds without its buy (imported, say) has no entry."""

    bot: str
    ticker: str
    entry_time: datetime | None
    entry_price: Decimal | None
    quantity: Decimal
    exit_time: datetime | None = None
    exit_price: Decimal | None = None
    pnl: Decimal | None = None
    fees: Decimal = ZERO
    reason: str | None = None

    @property
    def closed(self) -> bool:
        return self.exit_time is not None

    @property
    def holding_seconds(self) -> float | None:
        if self.entry_time is None or self.exit_time is None:
            return None
        return (self.exit_time - self.entry_time).total_seconds()

    @property
    def opened_at(self) -> datetime:
        """When it began: its buy, else (a sell without one) its sell."""
        moment = self.entry_time or self.exit_time
        assert moment is not None, "a round trip has a buy or a sell"
        return moment


def round_trips(trades: Iterable[LedgerTrade]) -> list[RoundTrip]:
    """Each buy paired with the next sell of the same bot and ticker, oldest first (by
    when they opened); buys without a sell yet are the open round trips."""
    opened: dict[tuple[str, str], LedgerTrade] = {}
    trips: list[RoundTrip] = []
    for trade in sorted(trades, key=lambda t: (t.at, t.id)):
        key = (trade.bot, trade.ticker)
        if trade.side is Side.BUY:
            earlier = opened.pop(key, None)
            if earlier is not None:  # a buy over a buy: the ledger refuses it; kept open
                trips.append(_open_trip(earlier))
            opened[key] = trade
            continue
        buy = opened.pop(key, None)
        trips.append(_closed_trip(buy, trade))
    trips.extend(_open_trip(buy) for buy in opened.values())
    return sorted(trips, key=lambda trip: trip.opened_at)


def _open_trip(buy: LedgerTrade) -> RoundTrip:
    return RoundTrip(buy.bot, buy.ticker, buy.at, buy.price, buy.quantity, fees=buy.fees)


def _closed_trip(buy: LedgerTrade | None, sell: LedgerTrade) -> RoundTrip:
    fees = sell.fees + (buy.fees if buy else ZERO)
    pnl = sell.profit
    if pnl is None:  # a sell the ledger kept without its profit: the prices say it
        pnl = (sell.filled - buy.filled) * sell.quantity - fees if buy else ZERO
    return RoundTrip(
        bot=sell.bot,
        ticker=sell.ticker,
        entry_time=buy.at if buy else None,
        entry_price=buy.price if buy else None,
        quantity=buy.quantity if buy else sell.quantity,
        exit_time=sell.at,
        exit_price=sell.price,
        pnl=pnl,
        fees=fees,
        reason=sell.reason,
    )


# -- equity over time -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Realised P&L so far and marked P&L (realised plus the open positions' change in
    value) at a moment, and how far the realised line is below its best so far."""

    at: datetime
    realised: Decimal
    marked: Decimal
    drawdown: Decimal


@dataclass(frozen=True, slots=True)
class _Step:
    at: datetime
    realised: Decimal
    unrealised: Decimal
    traded: bool


def _walk(trades: Sequence[LedgerTrade], marks: Sequence[Mark]) -> list[_Step]:
    """Realised and unrealised totals after every trade and mark, in time order (a trade
    before a mark of the same moment)."""
    events: list[tuple[datetime, int, int, LedgerTrade | Mark]] = [
        (trade.at, 0, trade.id, trade) for trade in trades
    ]
    events.extend((mark.at, 1, index, mark) for index, mark in enumerate(marks))
    events.sort(key=lambda event: event[:3])
    holding: dict[tuple[str, str], LedgerTrade] = {}  # the open buys
    last: dict[tuple[str, str], Decimal] = {}
    realised = unrealised = ZERO
    steps: list[_Step] = []

    def value(key: tuple[str, str]) -> Decimal:
        buy = holding.get(key)
        return ZERO if buy is None else (last[key] - buy.price) * buy.quantity

    for at, _, _, event in events:
        key = (event.bot, event.ticker)
        unrealised -= value(key)
        last[key] = event.price
        if isinstance(event, LedgerTrade):
            if event.side is Side.BUY:
                holding[key] = event
            else:
                realised += _closed_trip(holding.pop(key, None), event).pnl or ZERO
        unrealised += value(key)
        steps.append(_Step(at, realised, unrealised, isinstance(event, LedgerTrade)))
    return steps


@dataclass(frozen=True, slots=True)
class Window:
    """The span figures are for: from `since` (all history if None) to `until`."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment <= self.until
        )


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    start: date
    realised_pnl: Decimal
    marked_pnl: Decimal
    closed_trades: int
    wins: int
    losses: int
    fees: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    """What a set of round trips made, over a window. `win_rate` is wins over closed
    round trips (one that made exactly 0 is neither a win nor a loss, but counts);
    `profit_factor` is gross profit over gross loss, None without a loss; `expectancy`
    is the mean P&L of a closed round trip; `max_drawdown` is the deepest fall of the
    realised P&L from its best so far within the window."""

    ledger_trades: int
    closed_trades: int
    open_trades: int
    wins: int
    losses: int
    breakeven: int
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    marked_pnl: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    win_rate: float | None
    average_win: Decimal | None
    average_loss: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    max_drawdown: Decimal
    average_holding_seconds: float | None
    exits_by_reason: dict[str, int]
    fees: Decimal
    periods: list[PeriodFigures] = field(default_factory=list)
    equity: list[EquityPoint] = field(default_factory=list)


def _mean(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(_PLACES) if count else None


def figures(
    trades: Sequence[LedgerTrade],
    marks: Sequence[Mark] = (),
    window: Window = Window(),
    period: Period = Period.DAY,
) -> Figures:
    """The figures of `trades` (every trade up to the window's end, earlier ones too: a
    round trip closed in the window may have opened before it) over `window`.

    A round trip counts in the window its sell falls in. Marked P&L is realised P&L
    plus the change of the open positions' value across the window, each position
    marked at the newest trade price or `marks` price of its bot and ticker."""
    trips = round_trips(trades)
    closed = [trip for trip in trips if trip.closed and window.holds(trip.exit_time)]
    still_open = sum(1 for trip in trips if not trip.closed)
    pnls = [trip.pnl or ZERO for trip in closed]
    won = [pnl for pnl in pnls if pnl > 0]
    lost = [-pnl for pnl in pnls if pnl < 0]
    gross_profit, gross_loss = sum(won, ZERO), sum(lost, ZERO)
    held = [s for trip in closed if (s := trip.holding_seconds) is not None]
    steps = _walk(trades, marks)
    before = [step for step in steps if window.since is not None and step.at < window.since]
    start = before[-1] if before else _Step(window.since or datetime.min, ZERO, ZERO, False)
    inside = [step for step in steps if window.holds(step.at)]
    end = inside[-1] if inside else start
    equity = _equity(inside, start)
    realised = sum(pnls, ZERO)
    return Figures(
        ledger_trades=sum(1 for trade in trades if window.holds(trade.at)),
        closed_trades=len(closed),
        open_trades=still_open,
        wins=len(won),
        losses=len(lost),
        breakeven=len(closed) - len(won) - len(lost),
        realised_pnl=realised,
        unrealised_pnl=end.unrealised,
        marked_pnl=realised + end.unrealised - start.unrealised,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        win_rate=len(won) / len(closed) if closed else None,
        average_win=_mean(gross_profit, len(won)),
        average_loss=_mean(gross_loss, len(lost)),
        profit_factor=(gross_profit / gross_loss).quantize(_PLACES) if gross_loss else None,
        expectancy=_mean(realised, len(closed)),
        max_drawdown=max_drawdown(trip.pnl or ZERO for trip in _by_exit(closed)),
        average_holding_seconds=sum(held) / len(held) if held else None,
        exits_by_reason=dict(Counter(trip.reason or "" for trip in closed)),
        fees=sum((trip.fees for trip in closed), ZERO),
        periods=_periods(closed, inside, start, period),
        equity=equity,
    )


def relevant_marks(
    trades: Sequence[LedgerTrade],
    marks: Sequence[Mark | Reading],
    window: Window = Window(),
    period: Period = Period.DAY,
) -> list[Mark]:
    """The marks `figures` can tell apart from `marks` (readings without a ticker or
    price are none): figures read the open positions' value only at a
    trade, a period's end and the window's bounds, so of each bot and ticker's marks
    between two such moments only the last one counts. A capture reads a price a
    second; this keeps a few per trade and period."""
    if not marks:
        return []
    moments = sorted({trade.at for trade in trades} | _bounds(marks, window, period))
    kept: dict[tuple[str, str, int], Mark | Reading] = {}
    for mark in sorted(marks, key=lambda mark: mark.at):
        if mark.ticker is not None and mark.price is not None:
            # A mark at a trade's moment comes after the trade (see `_walk`): the next slot.
            kept[(mark.bot, mark.ticker, bisect_right(moments, mark.at))] = mark
    return sorted(
        (Mark(m.bot, m.ticker, m.at, m.price) for m in kept.values() if m.ticker and m.price),
        key=lambda mark: mark.at,
    )


def _bounds(marks: Sequence[Mark | Reading], window: Window, period: Period) -> set[datetime]:
    """The window's bounds and the start of every period from the first mark to the last."""
    bounds = set()
    if window.since is not None:
        bounds.add(window.since)  # a mark at `since` is in the window: after the bound
    if window.until is not None:
        bounds.add(window.until + _TICK)  # so is one at `until`: before it

    first, last = min(mark.at for mark in marks), max(mark.at for mark in marks)
    zone = first.tzinfo
    start = period_start(first, period)
    while (moment := datetime.combine(start, time(), tzinfo=zone)) <= last:
        bounds.add(moment)
        start = _next_period(start, period)
    return bounds


def _next_period(start: date, period: Period) -> date:
    if period is Period.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7 if period is Period.WEEK else 1)


def _by_exit(trips: Iterable[RoundTrip]) -> list[RoundTrip]:
    """Closed round trips in the order they closed (`round_trips` gives them as opened)."""
    return sorted(trips, key=lambda trip: trip.exit_time or datetime.min)


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """The deepest fall of the running total of `pnls` below its best so far (from 0)."""
    total = best = deepest = ZERO
    for pnl in pnls:
        total += pnl
        best = max(best, total)
        deepest = max(deepest, best - total)
    return deepest


def _equity(inside: Sequence[_Step], start: _Step) -> list[EquityPoint]:
    """The equity curve within the window, from 0: a point per trade, and the last state."""
    points: list[EquityPoint] = []
    best = ZERO
    for index, step in enumerate(inside):
        if not step.traded and index != len(inside) - 1:
            continue
        realised = step.realised - start.realised
        best = max(best, realised)
        marked = realised + step.unrealised - start.unrealised
        points.append(EquityPoint(step.at, realised, marked, best - realised))
    return points


def _periods(
    closed: Sequence[RoundTrip], inside: Sequence[_Step], start: _Step, period: Period
) -> list[PeriodFigures]:
    by_period: dict[date, list[RoundTrip]] = defaultdict(list)
    for trip in closed:
        assert trip.exit_time is not None
        by_period[period_start(trip.exit_time, period)].append(trip)
    # Marked P&L per period: the change of realised + unrealised from the end of the
    # period before (the window's start for the first) to the end of this one.
    ends: dict[date, _Step] = {}
    for step in inside:
        ends[period_start(step.at, period)] = step
    rows: list[PeriodFigures] = []
    previous = start
    for key in sorted(set(by_period) | set(ends)):
        trips = by_period.get(key, [])
        end = ends.get(key, previous)
        pnls = [trip.pnl or ZERO for trip in trips]
        rows.append(
            PeriodFigures(
                start=key,
                realised_pnl=sum(pnls, ZERO),
                marked_pnl=end.realised + end.unrealised - previous.realised - previous.unrealised,
                closed_trades=len(trips),
                wins=sum(1 for pnl in pnls if pnl > 0),
                losses=sum(1 for pnl in pnls if pnl < 0),
                fees=sum((trip.fees for trip in trips), ZERO),
            )
        )
        previous = end
    return rows


# -- signal skill ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Skill:
    """How often a bot's `up`/`down` readings were followed by a move that way.

    A reading is judged when the price moved within the next `horizon` readings of the
    same bot and ticker: the first price that differs from the reading's says which way
    it moved. The baseline always bets the direction most of those moves took; a reader
    of charts has skill only when its `hit_rate` beats `baseline_rate`."""

    bot: str
    horizon: int
    readings: int  # up/down readings with a price
    judged: int
    hits: int
    hit_rate: float | None
    majority: Trend | None
    baseline_hits: int
    baseline_rate: float | None

    @property
    def edge(self) -> float | None:
        if self.hit_rate is None or self.baseline_rate is None:
            return None
        return self.hit_rate - self.baseline_rate


def next_move(prices: Sequence[Decimal], index: int, horizon: int) -> Trend | None:
    """Which way the price moved first within the `horizon` readings after `index`."""
    here = prices[index]
    for later in prices[index + 1 : index + 1 + horizon]:
        if later != here:
            return Trend.UP if later > here else Trend.DOWN
    return None


def signal_skill(readings: Iterable[Reading], horizon: int) -> list[Skill]:
    """Each bot's skill (see `Skill`) over its readings, by bot."""
    series: dict[tuple[str, str | None], list[Reading]] = defaultdict(list)
    for reading in sorted(readings, key=lambda r: r.at):
        if reading.price is not None:
            series[(reading.bot, reading.ticker)].append(reading)
    called: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    moves: dict[str, Counter[Trend]] = defaultdict(Counter)
    for (bot, _), run in series.items():
        prices = [reading.price for reading in run if reading.price is not None]
        for index, reading in enumerate(run):
            if reading.trend is Trend.NONE:
                continue
            called[bot] += 1
            move = next_move(prices, index, horizon)
            if move is None:
                continue
            moves[bot][move] += 1
            hits[bot] += move is reading.trend
    return [_skill(bot, horizon, called[bot], hits[bot], moves[bot]) for bot in sorted(called)]


def _skill(bot: str, horizon: int, called: int, hits: int, moves: Counter[Trend]) -> Skill:
    judged = sum(moves.values())
    majority = None
    if judged:
        majority = Trend.UP if moves[Trend.UP] >= moves[Trend.DOWN] else Trend.DOWN
    baseline = moves[majority] if majority else 0
    return Skill(
        bot=bot,
        horizon=horizon,
        readings=called,
        judged=judged,
        hits=hits,
        hit_rate=hits / judged if judged else None,
        majority=majority,
        baseline_hits=baseline,
        baseline_rate=baseline / judged if judged else None,
    )


# -- the original's day-by-day overview -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """Round trips counted the original's way: P&L 0 (or still open) is neither a win
    nor a loss; `total_loss` is positive."""

    count: int = 0
    wins: int = 0
    losses: int = 0
    total_profit: Decimal = ZERO
    total_loss: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.total_profit - self.total_loss


def tally(trips: Iterable[RoundTrip]) -> Tally:
    pnls = [trip.pnl for trip in trips]
    won = [pnl for pnl in pnls if pnl is not None and pnl > 0]
    lost = [-pnl for pnl in pnls if pnl is not None and pnl < 0]
    return Tally(len(pnls), len(won), len(lost), sum(won, ZERO), sum(lost, ZERO))


def tally_by_day(
    trips: Iterable[RoundTrip], day_of: Callable[[datetime], date]
) -> dict[date, Tally]:
    """A tally per day a round trip opened on, days in order."""
    by_day: dict[date, list[RoundTrip]] = defaultdict(list)
    for trip in trips:
        by_day[day_of(trip.opened_at)].append(trip)
    return {day: tally(by_day[day]) for day in sorted(by_day)}
