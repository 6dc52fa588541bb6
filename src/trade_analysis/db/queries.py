"""Read-side queries: history, the latest record, bots and the trade summary.

Rows come back as ORM rows or as the typed values of `wire.py` (trade entries,
totals per ticker, the summary), never as dicts to be validated a layer later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trade_analysis.db import models
from trade_analysis.domain import to_wire, utcnow
from trade_analysis.valuation import OpenPosition, pnl_totals, unrealised_total
from trade_analysis.wire import (
    BotPosition,
    TickerSummary,
    TickerTotals,
    TradeEntry,
    TradeSummary,
    why,
)

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    ticker: str | None = None
    trend: str | None = None
    limit: int | None = 100  # None: every matching row (exports)
    offset: int = 0
    # "buy": trade records still open; "sell": those a sell completed (the seed's trends).
    trade_side: str | None = None
    kind: str | None = None  # "observation" | "trade"
    bot: str | None = None
    bot_name: str | None = None  # part of the bot's name, any case


# Counting every match scans every match, so the count stops this many rows past the end
# of the page asked for: exact up to there, a lower bound beyond (`HistoryTotal.exact`).
# Enough to page by: another page exists whenever offset + limit < the count.
COUNT_AHEAD = 1000


@dataclass(frozen=True)
class HistoryTotal:
    """How many rows match: exactly `count`, or (not `exact`) more than a page's reach."""

    count: int
    exact: bool


def history_query(filters: HistoryFilter) -> Select[models.Record]:
    return _filtered(select(models.Record), filters)


def _filtered(query: Select[RowT], filters: HistoryFilter) -> Select[RowT]:
    if filters.since is not None:
        query = query.where(models.Record.ts >= filters.since)
    if filters.until is not None:
        query = query.where(models.Record.ts <= filters.until)
    if filters.ticker:
        query = query.where(models.Record.ticker == filters.ticker)
    if filters.trend:
        query = query.where(models.Record.trend == filters.trend)
    if filters.kind is not None:
        query = query.where(models.Record.kind == filters.kind)
    if filters.bot is not None:
        query = query.where(models.Record.bot == filters.bot)
    if filters.bot_name is not None:
        pattern = (
            "%"
            + filters.bot_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        named = select(models.Bot.bot).where(models.Bot.name.ilike(pattern, escape="\\"))
        query = query.where(models.Record.bot.in_(named))
    if filters.trade_side is not None:
        sold = models.Record.sell_price.is_not(None)
        query = query.where(
            models.Record.kind == "trade", sold if filters.trade_side == "sell" else ~sold
        )
    return query


def history(session: Session, filters: HistoryFilter) -> tuple[list[models.Record], HistoryTotal]:
    """Newest first, one page, and how many rows match (bounded: see `COUNT_AHEAD`)."""
    page = session.scalars(
        history_query(filters)
        .order_by(models.Record.ts.desc(), models.Record.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    ).all()
    return list(page), _history_total(session, filters, len(page))


def _history_total(session: Session, filters: HistoryFilter, found: int) -> HistoryTotal:
    limit = filters.limit
    if limit is not None and found < limit and (found or not filters.offset):
        return HistoryTotal(filters.offset + found, exact=True)  # the page reached the end
    ids = _filtered(select(models.Record.id), filters)
    reach = None if limit is None else filters.offset + limit + COUNT_AHEAD
    if reach is not None:
        ids = ids.limit(reach + 1)  # one more than the reach tells "more than that"
    count = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    return HistoryTotal(count, exact=reach is None or count <= reach)


def latest_record(session: Session) -> models.Record | None:
    return session.scalars(
        select(models.Record).order_by(models.Record.ts.desc(), models.Record.id.desc()).limit(1)
    ).first()


def all_bots(session: Session) -> list[models.Bot]:
    return list(session.scalars(select(models.Bot).order_by(models.Bot.bot)).all())


def find_bot(session: Session, key: str) -> models.Bot | None:
    """A bot by its key; a number is first the window a bot is bound to now."""
    if key.isascii() and key.isdigit() and int(key) < 2**63:
        bound = session.scalars(select(models.Bot).where(models.Bot.hwnd == int(key))).first()
        if bound is not None:
            return bound
    return session.get(models.Bot, key)


def bots_by_key(session: Session, keys: Collection[str]) -> dict[str, models.Bot]:
    """The bots of these keys that exist, by key (one query)."""
    if not keys:
        return {}
    rows = session.scalars(select(models.Bot).where(models.Bot.bot.in_(list(keys))))
    return {row.bot: row for row in rows}


def bots_by_window(session: Session, windows: Collection[int]) -> dict[int, models.Bot]:
    """The bots bound to these windows now, by window (one query)."""
    if not windows:
        return {}
    rows = session.scalars(select(models.Bot).where(models.Bot.hwnd.in_(list(windows))))
    return {row.hwnd: row for row in rows if row.hwnd is not None}


def trade_ids_of_bot(session: Session, bot: str) -> list[int]:
    return list(session.scalars(select(models.Trade.id).where(models.Trade.bot == bot)))


def trades_by_id(session: Session, ids: Collection[int]) -> list[models.Trade]:
    return list(session.scalars(select(models.Trade).where(models.Trade.id.in_(ids))))


def trades_of_record_at(session: Session, at: datetime) -> list[models.Trade]:
    """The trades of the trade record bought, sold or written at `at` (the original's
    `trade_id` is such a time)."""
    record = models.Record
    records = select(record.id).where(
        record.kind == "trade",
        (record.ts == at) | (record.buy_time == at) | (record.sell_time == at),
    )
    query = select(models.Trade).where(models.Trade.record_id.in_(records))
    return list(session.scalars(query.order_by(models.Trade.id)))


def trades_of_records(session: Session, record_ids: Collection[int]) -> list[models.Trade]:
    query = select(models.Trade).where(models.Trade.record_id.in_(record_ids))
    return list(session.scalars(query.order_by(models.Trade.id)))


def bot_names(session: Session, keys: Collection[str]) -> dict[str, str | None]:
    rows = session.execute(select(models.Bot.bot, models.Bot.name).where(models.Bot.bot.in_(keys)))
    return {key: name for key, name in rows}


def trade_entry(trade: models.Trade) -> TradeEntry:
    """A trade as the seed's clients read it, with the bot and reason added."""
    return TradeEntry(
        id=trade.id,
        bot=trade.bot,
        ticker=trade.ticker,
        direction=trade.side,
        price=trade.price,
        profit=trade.profit,
        win_reason=trade.reason,
        ts=to_wire(trade.ts),
        quantity=trade.quantity if trade.quantity is not None else 1,
        fill_price=trade.fill_price if trade.fill_price is not None else trade.price,
        fee=trade.fee if trade.fee is not None else 0,
        why=why(trade.reason, trade.side, (trade.meta or {}).get("why")),
    )


def open_positions(session: Session, bots: Collection[str] | None = None) -> list[OpenPosition]:
    """Every long position (only these bots' when given) with its bot's name and the last
    price read for it."""
    query = (
        select(models.Position, models.Bot.name)
        .outerjoin(models.Bot, models.Bot.bot == models.Position.bot)
        .where(models.Position.is_long.is_(True))
    )
    if bots is not None:
        query = query.where(models.Position.bot.in_(bots))
    rows = session.execute(query.order_by(models.Position.bot, models.Position.ticker)).all()
    return [_open_position(position, name) for position, name in rows]


def _open_position(position: models.Position, name: str | None = None) -> OpenPosition:
    assert position.entry_price is not None, "a long position always has an entry price"
    return OpenPosition(
        bot=position.bot,
        ticker=position.ticker,
        entry_price=position.entry_price,
        entry_time=position.entry_time,
        last_price=position.last_price,
        name=name,
        quantity=position.quantity if position.quantity is not None else Decimal(1),
    )


def realised_total(totals: dict[str, TickerTotals]) -> Decimal:
    return sum((state.total_pnl for state in totals.values()), Decimal(0))


def trade_summary(session: Session, limit: int = 500, now: datetime | None = None) -> TradeSummary:
    """The seed's `/trades` shape: per-ticker state and P&L, and the newest trades."""
    now = now or utcnow()
    recent = session.scalars(
        select(models.Trade).order_by(models.Trade.id.desc()).limit(limit)
    ).all()
    entries = [trade_entry(trade) for trade in reversed(recent)]
    history_by_ticker: dict[str, list[TradeEntry]] = defaultdict(list)
    for entry in entries:
        history_by_ticker[entry.ticker].append(entry)
    held = open_positions(session)
    totals = ticker_totals(session, now, held)
    tickers: dict[str, TickerSummary] = {}
    for ticker, state in totals.items():
        trades = history_by_ticker.get(ticker, [])
        tickers[ticker] = TickerSummary(
            **dict(state), last_trade=trades[-1] if trades else None, trade_history=trades
        )
    return TradeSummary(
        tickers=tickers,
        **dict(pnl_totals(realised_total(totals), held, now)),
        all_trades=entries,
    )


def ticker_totals(
    session: Session, now: datetime, held: list[OpenPosition] | None = None
) -> dict[str, TickerTotals]:
    """Per ticker: position, entry, first-cycle state, P&L and win rate; no trade lists.

    Reads the running totals and the positions, never the whole ledger, so it
    costs the same after a million trades as after ten. Open positions are
    marked to the last price their bot read (`unrealised_pnl`, per bot too).
    """
    held = open_positions(session) if held is None else held
    marks = {(position.bot, position.ticker): position for position in held}
    totals = {row.ticker: row for row in session.scalars(select(models.TickerTotal))}
    by_ticker: dict[str, list[models.Position]] = defaultdict(list)
    for position in session.scalars(select(models.Position)):
        by_ticker[position.ticker].append(position)
    summary: dict[str, TickerTotals] = {}
    for ticker in sorted(set(by_ticker) | set(totals)):
        states = by_ticker.get(ticker, [])
        longs = [p for p in states if p.is_long]
        total = totals.get(ticker)
        wins, losses = (total.wins, total.losses) if total else (0, 0)
        ticker_marks = [mark for mark in held if mark.ticker == ticker]
        summary[ticker] = TickerTotals(
            position="long" if longs else "flat",
            entry_price=longs[0].entry_price if longs else None,
            first_cycle_done=bool(states) and all(p.first_cycle_done for p in states),
            last_direction=next((p.last_direction for p in states if p.last_direction), None),
            total_pnl=total.total_pnl if total else Decimal(0),
            wins=wins,
            losses=losses,
            win_rate=round(wins / (wins + losses), 4) if wins + losses else 0.0,
            unrealised_pnl=unrealised_total(ticker_marks),
            last_price=next((p.last_price for p in states if p.last_price is not None), None),
            bots={p.bot: _bot_position(p, marks.get((p.bot, ticker)), now) for p in states},
        )
    return summary


def _bot_position(
    position: models.Position, mark: OpenPosition | None, now: datetime
) -> BotPosition:
    """A bot's position in a ticker; a long one marked to its last price."""
    return BotPosition(
        position="long" if position.is_long else "flat",
        entry_price=position.entry_price,
        last_price=position.last_price,
        unrealised_pnl=mark.unrealised_pnl if mark is not None else None,
        unrealised_pct=mark.unrealised_pct if mark is not None else None,
        open_seconds=mark.open_seconds(now) if mark is not None else None,
    )


# -- statistics -----------------------------------------------------------------------


class ReadingRow(NamedTuple):
    """An observation's trend and price, as statistics read it (many: a tuple each)."""

    bot: str
    ticker: str | None
    ts: datetime
    trend: str
    price: Decimal | None


class LedgerRow(NamedTuple):
    """A trade's columns statistics read (many: a tuple each, no ORM object)."""

    id: int
    ts: datetime
    bot: str
    ticker: str
    side: str
    price: Decimal
    reason: str
    profit: Decimal | None
    quantity: Decimal | None  # null: a trade from before costs, one unit
    fee: Decimal | None  # null: no fee
    fill_price: Decimal | None  # null: `price`
    why: str | None  # what the rule said when it traded (kept in `meta`), if anything


def ledger_trades(
    session: Session, *, bot: str | None, ticker: str | None, until: datetime | None
) -> list[LedgerRow]:
    """Every trade (of a bot, a ticker) up to `until`, oldest first."""
    table = models.Trade
    columns = [getattr(table, column) for column in LedgerRow._fields if column != "why"]
    query = select(*columns, table.meta["why"].as_string())
    if bot is not None:
        query = query.where(table.bot == bot)
    if ticker is not None:
        query = query.where(table.ticker == ticker)
    if until is not None:
        query = query.where(table.ts <= until)
    rows = session.execute(query.order_by(table.ts, table.id))
    return [LedgerRow._make(row) for row in rows]


def readings(
    session: Session,
    *,
    bot: str | None,
    ticker: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ReadingRow]:
    """The observations (of a bot, a ticker) between `since` and `until`, oldest first."""
    table = models.Observation
    query = select(table.bot, table.ticker, table.ts, table.trend, table.price)
    if bot is not None:
        query = query.where(table.bot == bot)
    if ticker is not None:
        query = query.where(table.ticker == ticker)
    if since is not None:
        query = query.where(table.ts >= since)
    if until is not None:
        query = query.where(table.ts <= until)
    rows = session.execute(query.order_by(table.ts, table.id))
    return [ReadingRow._make(row) for row in rows]
