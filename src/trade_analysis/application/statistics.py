"""Statistics: what the ledger's trades made, per bot, per ticker and overall, and how
well each bot's readings called the next move (trading/statistics.py computes it all)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy.orm import Session

from trade_analysis.application.errors import InvalidRequest
from trade_analysis.db import queries
from trade_analysis.domain import Side, Trend, to_wire, utcnow
from trade_analysis.services import Services
from trade_analysis.trading import statistics as core
from trade_analysis.trading.ledger import UnknownBot
from trade_analysis.wire import (
    BotChart,
    BotStats,
    EquityPointPublic,
    PricePoint,
    SignalSkill,
    StatsFigures,
    StatsPublic,
    TickerStats,
    TradeEntry,
    why,
)

DEFAULT_HORIZON = 5
# A bot's price chart carries at most about this many prices (evenly thinned, the last kept).
CHART_PRICES = 2000


def ledger_trade(row: queries.LedgerRow) -> core.LedgerTrade:
    """The one place a ledger row becomes a trade for statistics: its quantity and the fee
    it paid as the ledger keeps them (a trade from before costs: one unit, no fee). The
    sell's `profit` is already net of both legs' fees; `fees` only says what they took."""
    return core.LedgerTrade(
        id=row.id,
        at=row.ts,
        bot=row.bot,
        ticker=row.ticker,
        side=_SIDES[row.side],
        price=row.price,
        reason=row.reason,
        profit=row.profit,
        quantity=row.quantity if row.quantity is not None else Decimal(1),
        fees=row.fee if row.fee is not None else Decimal(0),
        fill_price=row.fill_price,
        why=row.why,
    )


_TRENDS = {trend.value: trend for trend in Trend}
_SIDES = {side.value: side for side in Side}


def reading(row: queries.ReadingRow) -> core.Reading:
    return core.Reading(row.bot, row.ticker, row.ts, _TRENDS[row.trend], row.price)


@dataclass(frozen=True)
class StatsQuery:
    bot: str | None = None
    ticker: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    period: core.Period = core.Period.DAY
    horizon: int = DEFAULT_HORIZON

    def __post_init__(self) -> None:
        if self.since and self.until and self.until < self.since:
            raise InvalidRequest("to is before from")


@dataclass(frozen=True)
class _Ledger:
    """What statistics read: trades up to the window's end, the readings in it, the
    newest price of each open position (when the window reaches now), the bots' names."""

    trades: list[core.LedgerTrade]
    readings: list[core.Reading]
    marks: list[core.Mark]
    names: dict[str, str | None]


def _read(session: Session, query: StatsQuery) -> _Ledger:
    rows = queries.ledger_trades(session, bot=query.bot, ticker=query.ticker, until=query.until)
    observed = queries.readings(
        session, bot=query.bot, ticker=query.ticker, since=query.since, until=query.until
    )
    readings = [reading(row) for row in observed]
    marks: list[core.Mark | core.Reading] = list(readings)  # those with a ticker and price
    if query.until is None:
        now = utcnow()
        held = queries.open_positions(session, [query.bot] if query.bot else None)
        marks.extend(
            core.Mark(p.bot, p.ticker, now, p.last_price)
            for p in held
            if p.last_price is not None and query.ticker in (None, p.ticker)
        )
    names = {row.bot: row.name for row in queries.all_bots(session)}
    trades = [ledger_trade(row) for row in rows]
    window = core.Window(query.since, query.until)
    relevant = core.relevant_marks(trades, marks, window, query.period)
    return _Ledger(trades, readings, relevant, names)


def stats(services: Services, query: StatsQuery) -> StatsPublic:
    """Figures overall, per bot and per ticker over the window, the equity curve, each
    bot's signal skill, and (for one bot) its prices and trades for a chart."""
    found = None
    with services.database.reading() as session:
        if query.bot is not None:
            found = queries.find_bot(session, query.bot)
            query = replace(query, bot=found.bot if found else query.bot)
        ledger = _read(session, query)
    if query.bot is not None and found is None and not (ledger.trades or ledger.readings):
        raise UnknownBot(query.bot)  # neither a bot nor anything a bot of that key did
    window = core.Window(query.since, query.until)

    def figures(part: _Part) -> core.Figures:
        return core.figures(part.trades, part.marks, window, query.period)

    overall = figures(_Part(ledger.trades, ledger.marks))
    return StatsPublic(
        period=query.period.value,
        since=query.since,
        until=query.until,
        overall=StatsFigures.model_validate(overall),
        equity=[EquityPointPublic.model_validate(point) for point in overall.equity],
        bots=[
            BotStats.model_validate(
                {**_slots(figures(part)), "bot": bot, "name": ledger.names.get(bot)}
            )
            for bot, part in _parts(ledger, lambda item: item.bot).items()
        ],
        tickers=[
            TickerStats.model_validate({**_slots(figures(part)), "ticker": ticker})
            for ticker, part in _parts(ledger, lambda item: item.ticker).items()
        ],
        skill=[
            SignalSkill.model_validate({**_slots(skill), "edge": skill.edge})
            for skill in core.signal_skill(ledger.readings, query.horizon)
        ],
        chart=_chart(query.bot, ledger, window) if query.bot is not None else None,
    )


@dataclass(frozen=True)
class _Part:
    trades: list[core.LedgerTrade]
    marks: list[core.Mark]


def _parts(ledger: _Ledger, key: Callable[[core.LedgerTrade | core.Mark], str]) -> dict[str, _Part]:
    """The trades and marks of each bot (or ticker) that traded, in order, in one pass."""
    parts: dict[str, _Part] = {}
    for trade in ledger.trades:
        parts.setdefault(key(trade), _Part([], [])).trades.append(trade)
    for mark in ledger.marks:
        if (part := parts.get(key(mark))) is not None:
            part.marks.append(mark)
    return dict(sorted(parts.items()))


def _slots(value: object) -> dict[str, object]:
    """A slotted dataclass's fields by name."""
    return {name: getattr(value, name) for name in getattr(value, "__slots__", ())}


def _chart(bot: str, ledger: _Ledger, window: core.Window) -> BotChart:
    """The bot's prices (evenly thinned to about `CHART_PRICES`, the last kept) and its
    trades in the window."""
    priced = [r for r in ledger.readings if r.price is not None and r.ticker is not None]
    step = max(1, math.ceil(len(priced) / CHART_PRICES))
    kept = priced[::step] + ([priced[-1]] if priced and (len(priced) - 1) % step else [])
    return BotChart(
        bot=bot,
        prices=[PricePoint(at=r.at, ticker=r.ticker or "", price=r.price) for r in kept if r.price],
        trades=[
            TradeEntry(
                id=t.id,
                bot=t.bot,
                ticker=t.ticker,
                direction=t.side,
                price=t.price,
                profit=t.profit,
                win_reason=t.reason,
                ts=to_wire(t.at),
                quantity=t.quantity,
                fill_price=t.fill_price if t.fill_price is not None else t.price,
                fee=t.fees,
                why=why(t.reason, t.side, t.why),
            )
            for t in ledger.trades
            if t.bot == bot and window.holds(t.at)
        ],
    )


# -- the original's /history_overview ------------------------------------------------

ProfitFilter = Literal["all", "profit", "loss"]


@dataclass(frozen=True)
class OverviewQuery:
    """The original's filters: round trips opened from `days` days ago (midnight UTC,
    today counting as one) or from `since`, to `until`."""

    days: int = 7
    since: datetime | None = None
    until: datetime | None = None
    selected_day: date | None = None
    ticker: str | None = None
    side: Side | None = None  # buy: still open; sell: closed
    win_reason: str | None = None
    bot: str | None = None
    bot_name: str | None = None
    profit_filter: ProfitFilter = "all"


@dataclass(frozen=True)
class Overview:
    daily: dict[date, core.Tally]
    totals: core.Tally


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def overview(services: Services, query: OverviewQuery) -> Overview:
    """Round trips per day they opened, and the totals of the selected day (else every
    day) narrowed to winners or losers."""
    since = query.since or datetime.combine(
        utcnow().date() - timedelta(days=query.days - 1), time(), tzinfo=UTC
    )
    if query.until is not None and query.until < since:
        raise InvalidRequest("end_ts is before the start of the window (start_ts or days)")
    with services.database.reading() as session:
        rows = queries.ledger_trades(session, bot=query.bot, ticker=query.ticker, until=None)
        names = {row.bot: row.name for row in queries.all_bots(session)}
    window = core.Window(since, query.until)
    trips = [
        trip
        for trip in core.round_trips(ledger_trade(row) for row in rows)
        if window.holds(trip.opened_at) and _matches(trip, query, names)
    ]
    chosen = [
        trip
        for trip in trips
        if (query.selected_day is None or utc_day(trip.opened_at) == query.selected_day)
        and _profit_matches(trip, query.profit_filter)
    ]
    return Overview(core.tally_by_day(trips, utc_day), core.tally(chosen))


def _matches(trip: core.RoundTrip, query: OverviewQuery, names: dict[str, str | None]) -> bool:
    if query.side is not None and trip.closed != (query.side is Side.SELL):
        return False
    if query.win_reason is not None and trip.reason != query.win_reason:
        return False
    if query.bot_name is not None:
        name = names.get(trip.bot) or ""
        return query.bot_name.lower() in name.lower()
    return True


def _profit_matches(trip: core.RoundTrip, wanted: ProfitFilter) -> bool:
    if wanted == "all":
        return True
    if trip.pnl is None:
        return False
    return trip.pnl > 0 if wanted == "profit" else trip.pnl < 0
