"""Read-side queries: history, the latest record, bots and the trade summary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trade_analysis.db import models
from trade_analysis.domain import to_wire


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    ticker: str | None = None
    trend: str | None = None
    limit: int = 100
    offset: int = 0


def _history_query(filters: HistoryFilter) -> Select[models.Record]:
    query = select(models.Record)
    if filters.since is not None:
        query = query.where(models.Record.ts >= filters.since)
    if filters.until is not None:
        query = query.where(models.Record.ts <= filters.until)
    if filters.ticker:
        query = query.where(models.Record.ticker == filters.ticker)
    if filters.trend:
        query = query.where(models.Record.trend == filters.trend)
    return query


def history(session: Session, filters: HistoryFilter) -> tuple[list[models.Record], int]:
    """Newest first, one page, and how many rows match in all."""
    query = _history_query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(models.Record.ts.desc(), models.Record.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    ).all()
    return list(page), total


def latest_record(session: Session) -> models.Record | None:
    return session.scalars(
        select(models.Record).order_by(models.Record.ts.desc(), models.Record.id.desc()).limit(1)
    ).first()


def all_bots(session: Session) -> list[models.Bot]:
    return list(session.scalars(select(models.Bot).order_by(models.Bot.bot)).all())


def find_bot(session: Session, key: str) -> models.Bot | None:
    """A bot by its key, or by its window handle when the key is a number."""
    row = session.get(models.Bot, key)
    if row is None and key.isdigit():
        row = session.scalars(select(models.Bot).where(models.Bot.hwnd == int(key))).first()
    return row


def trade_entry(trade: models.Trade) -> dict[str, Any]:
    """A trade as the seed's clients read it, with the bot and reason added."""
    return {
        "id": trade.id,
        "bot": trade.bot,
        "ticker": trade.ticker,
        "direction": trade.side,
        "price": trade.price,
        "profit": trade.profit,
        "win_reason": trade.reason,
        "ts": to_wire(trade.ts),
    }


def trade_summary(session: Session, limit: int = 500) -> dict[str, Any]:
    """The seed's `/trades` shape: per-ticker state and P&L, and the newest trades."""
    totals = session.execute(
        select(
            models.Trade.ticker,
            func.count().filter(models.Trade.profit > 0),
            func.count().filter(models.Trade.profit <= 0),
        )
        .where(models.Trade.side == "sell")
        .group_by(models.Trade.ticker)
    ).all()
    pnl = _pnl_by_ticker(session)
    positions = session.scalars(select(models.Position)).all()
    recent = session.scalars(
        select(models.Trade).order_by(models.Trade.id.desc()).limit(limit)
    ).all()
    history_by_ticker: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for trade in reversed(recent):
        history_by_ticker[trade.ticker].append(trade_entry(trade))

    tickers: dict[str, dict[str, Any]] = {}
    win_loss = {ticker: (wins, losses) for ticker, wins, losses in totals}
    by_ticker: dict[str, list[models.Position]] = defaultdict(list)
    for position in positions:
        by_ticker[position.ticker].append(position)
    for ticker in sorted(set(by_ticker) | set(win_loss) | set(history_by_ticker)):
        wins, losses = win_loss.get(ticker, (0, 0))
        held = [p for p in by_ticker.get(ticker, []) if p.is_long]
        states = by_ticker.get(ticker, [])
        trades = history_by_ticker.get(ticker, [])
        tickers[ticker] = {
            "position": "long" if held else "flat",
            "entry_price": held[0].entry_price if held else None,
            "first_cycle_done": bool(states) and all(p.first_cycle_done for p in states),
            "last_direction": next((p.last_direction for p in states if p.last_direction), None),
            "last_trade": trades[-1] if trades else None,
            "total_pnl": pnl.get(ticker, Decimal(0)),
            "wins": wins,
            "losses": losses,
            "win_rate": round(wins / (wins + losses), 4) if wins + losses else 0.0,
            "trade_history": trades,
            "bots": {
                p.bot: {"position": "long" if p.is_long else "flat", "entry_price": p.entry_price}
                for p in states
            },
        }
    return {
        "tickers": tickers,
        "total_pnl_all_tickers": sum(pnl.values(), Decimal(0)),
        "all_trades": [trade_entry(trade) for trade in reversed(recent)],
    }


def _pnl_by_ticker(session: Session) -> dict[str, Decimal]:
    """Summed in Python: SQLite keeps money as text so SUM() would go through floats."""
    pnl: dict[str, Decimal] = defaultdict(Decimal)
    for ticker, profit in session.execute(
        select(models.Trade.ticker, models.Trade.profit).where(models.Trade.profit.is_not(None))
    ):
        pnl[ticker] += profit or Decimal(0)
    return dict(pnl)
