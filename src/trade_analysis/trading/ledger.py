"""The ledger: the one writer of trading rows.

Each signal, manual order or upload is one transaction: the bot's gate, its
position, the trade, the history record it opens or completes and the bot's
totals change together or not at all. Positions live in the database, so a
restart (or another API process) continues exactly where the last left off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import delete, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trade_analysis.db import models
from trade_analysis.db.session import Database
from trade_analysis.domain import Side, Trend
from trade_analysis.trading.gate import SignalKey, passes_gate
from trade_analysis.trading.rules import rules_from_meta
from trade_analysis.trading.simulator import (
    NoOpenPosition,
    Position,
    Reason,
    Signal,
    TradeEvent,
    decide,
    manual_order,
)

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row", bound=models.Base)


class AmbiguousPosition(NoOpenPosition):
    """A sell without a bot matches open positions of several bots."""


@dataclass(frozen=True)
class ObservationInput:
    """What a capture or an upload read, ready to store and to trade on."""

    bot: str
    at: datetime
    name: str | None = None
    ticker: str | None = None
    price: Decimal | None = None
    trend: Trend = Trend.NONE
    confidence: float | None = None
    image_path: str | None = None
    hwnd: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObservation:
    observation_id: int
    record_id: int | None
    trade: TradeEvent | None
    trade_id: int | None


@dataclass(frozen=True)
class RecordedTrade:
    trade_id: int
    trade: TradeEvent


class Ledger:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- writes ---------------------------------------------------------------

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation:
        """Store an observation (and its history record) and trade on it, atomically."""
        with self._db.session() as session, session.no_autoflush:
            # One flush at the end writes every row and update of this observation once.
            bot = self._bot_for_update(session, observation.bot, observation.hwnd)
            bot.name = observation.name or bot.name
            bot.ticker = observation.ticker or bot.ticker
            bot.updated_at = observation.at
            seen = {
                "ts": observation.at,
                "bot": observation.bot,
                "name": observation.name,
                "ticker": observation.ticker,
                "price": observation.price,
                "trend": observation.trend.value,
                "image_path": observation.image_path,
                "meta": observation.meta,
            }
            row = models.Observation(**seen, confidence=observation.confidence)
            session.add(row)
            record = models.Record(**seen, kind="observation") if as_history else None
            if record is not None:
                session.add(record)
            trade, trade_id = self._trade_on(session, bot, observation)
            session.flush()
            return StoredObservation(row.id, record.id if record else None, trade, trade_id)

    def manual_trade(
        self,
        *,
        ticker: str,
        side: Side,
        price: Decimal,
        at: datetime,
        bot: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RecordedTrade:
        """A trader's own order; refused (PositionAlreadyOpen / NoOpenPosition) when it can't be."""
        with self._db.session() as session:
            bot_key = bot or self._bot_for_manual(session, ticker, side)
            bot_row = self._bot_for_update(session, bot_key, None)
            position_row = self._position_for_update(session, bot_key, ticker)
            position, trade = manual_order(_position_from_row(position_row), side, price, at)
            _position_to_row(position, position_row)
            trade_id = self._write_trade(session, bot_row, position_row, trade, meta or {})
            return RecordedTrade(trade_id, trade)

    def save_bot_settings(
        self, bot: str, hwnd: int | None, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge settings (crop, rules, title pattern) into the bot's saved meta."""
        with self._db.session() as session:
            row = self._bot_for_update(session, bot, hwnd)
            row.meta = {**(row.meta or {}), **settings}
            return dict(row.meta)

    def bot_settings(self, bot: str) -> dict[str, Any]:
        """The settings saved for a bot (empty for a bot never seen)."""
        with self._db.reading() as session:
            row = session.get(models.Bot, bot)
            return dict(row.meta or {}) if row is not None else {}

    def delete_bot(self, bot: str) -> bool:
        """Remove the bot's row; its trades, records and positions stay in the ledger."""
        with self._db.session() as session:
            result = session.execute(delete(models.Bot).where(models.Bot.bot == bot))
            return bool(getattr(result, "rowcount", 0))

    # -- the steps of one transaction ----------------------------------------

    def _trade_on(
        self, session: Session, bot: models.Bot, observation: ObservationInput
    ) -> tuple[TradeEvent | None, int | None]:
        if observation.ticker is None or observation.price is None:
            return None, None
        key = SignalKey(observation.ticker, observation.price, observation.trend)
        if not passes_gate(SignalKey.from_json(bot.last_signal), key):
            logger.debug("bot=%s ticker=%s unchanged signal ignored", bot.bot, key.ticker)
            return None, None
        bot.last_signal = key.to_json()
        signal = Signal(bot.bot, key.ticker, key.price, key.trend, observation.at)
        position_row = self._position_for_update(session, bot.bot, key.ticker)
        position, trade = decide(
            _position_from_row(position_row), signal, rules_from_meta(bot.meta)
        )
        _position_to_row(position, position_row)
        if trade is None:
            return None, None
        meta = {"trend": observation.trend.value, "name": observation.name}
        if observation.image_path:
            meta["image_path"] = observation.image_path
        trade_id = self._write_trade(session, bot, position_row, trade, meta)
        return trade, trade_id

    def _write_trade(
        self,
        session: Session,
        bot: models.Bot,
        position_row: models.Position,
        trade: TradeEvent,
        meta: dict[str, Any],
    ) -> int:
        record = (
            self._open_record(session, trade, meta)
            if trade.side is Side.BUY
            else self._complete_record(session, position_row.open_record_id, trade)
        )
        position_row.open_record = record if trade.side is Side.BUY else None
        row = models.Trade(
            ts=trade.at,
            bot=trade.bot,
            ticker=trade.ticker,
            side=trade.side.value,
            price=trade.price,
            reason=trade.reason.value,
            profit=trade.profit,
            record=record,
            meta={k: v for k, v in meta.items() if v is not None},
        )
        session.add(row)
        if trade.side is Side.BUY:
            bot.open_direction, bot.open_price, bot.open_time = "long", trade.price, trade.at
        else:
            bot.open_direction, bot.open_price, bot.open_time = None, None, None
            bot.total_pnl = (bot.total_pnl or Decimal(0)) + (trade.profit or Decimal(0))
            self._add_to_totals(session, trade.ticker, trade.profit or Decimal(0))
        session.flush()
        logger.info(
            "trade bot=%s ticker=%s side=%s price=%s reason=%s profit=%s",
            trade.bot,
            trade.ticker,
            trade.side.value,
            trade.price,
            trade.reason.value,
            trade.profit,
        )
        return row.id

    @staticmethod
    def _open_record(session: Session, trade: TradeEvent, meta: dict[str, Any]) -> models.Record:
        record = models.Record(
            ts=trade.at,
            kind="trade",
            bot=trade.bot,
            image_path=meta.get("image_path"),
            name=meta.get("name"),
            ticker=trade.ticker,
            price=trade.price,
            trend=meta.get("trend"),
            buy_price=trade.price,
            buy_time=trade.at,
            meta={"buy_reason": trade.reason.value},
        )
        session.add(record)
        return record

    @staticmethod
    def _complete_record(
        session: Session, record_id: int | None, trade: TradeEvent
    ) -> models.Record:
        record = session.get(models.Record, record_id) if record_id is not None else None
        if record is None:
            # The buy's record was never written (a position from before records existed).
            record = models.Record(
                ts=trade.entry_time or trade.at,
                kind="trade",
                bot=trade.bot,
                ticker=trade.ticker,
                price=trade.entry_price,
                buy_price=trade.entry_price,
                buy_time=trade.entry_time,
                meta={},
            )
            session.add(record)
        record.sell_price = trade.price
        record.sell_time = trade.at
        record.meta = {
            **(record.meta or {}),
            "profit": str(trade.profit),
            "sell_reason": trade.reason.value,
        }
        return record

    def _add_to_totals(self, session: Session, ticker: str, profit: Decimal) -> None:
        totals = self._locked_row(
            session,
            models.TickerTotal,
            {"ticker": ticker, "total_pnl": Decimal(0), "wins": 0, "losses": 0},
        )
        totals.total_pnl += profit
        if profit > 0:
            totals.wins += 1
        else:
            totals.losses += 1

    def _bot_for_update(self, session: Session, bot: str, hwnd: int | None) -> models.Bot:
        row = self._locked_row(session, models.Bot, {"bot": bot, "hwnd": hwnd, "meta": {}})
        if hwnd is not None and row.hwnd != hwnd:
            row.hwnd = hwnd
        return row

    def _position_for_update(self, session: Session, bot: str, ticker: str) -> models.Position:
        return self._locked_row(
            session,
            models.Position,
            {
                "bot": bot,
                "ticker": ticker,
                "is_long": False,
                "first_cycle_done": False,
                "waiting": False,
                "consecutive_drops": 0,
            },
        )

    @staticmethod
    def _locked_row(session: Session, model: type[_Row], values: dict[str, Any]) -> _Row:
        """The row with these primary-key values, created if missing, locked for this transaction.

        The common case is one SELECT. Creating uses insert-or-nothing, so two
        processes creating the same row at once both end up with the one row.
        """
        key = tuple(values[column.name] for column in inspect(model).primary_key)
        lookup = select(model).filter_by(
            **{column.name: values[column.name] for column in inspect(model).primary_key}
        )
        row = session.scalars(lookup.with_for_update()).one_or_none()
        if row is not None:
            return row
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(model).values(**values).on_conflict_do_nothing())
        row = session.scalars(lookup.with_for_update()).one_or_none()
        assert row is not None, f"{model.__name__} {key} exists after insert-or-nothing"
        return row

    @staticmethod
    def _bot_for_manual(session: Session, ticker: str, side: Side) -> str:
        """Which bot a manual order without one belongs to."""
        if side is Side.BUY:
            return "manual"
        holders = session.scalars(
            select(models.Position.bot).where(
                models.Position.ticker == ticker, models.Position.is_long.is_(True)
            )
        ).all()
        if len(holders) > 1:
            raise AmbiguousPosition(
                f"{ticker} is held by several bots ({', '.join(sorted(holders))}); "
                "say which one with 'bot'"
            )
        return holders[0] if holders else "manual"


def _position_from_row(row: models.Position) -> Position:
    return Position(
        bot=row.bot,
        ticker=row.ticker,
        is_long=row.is_long,
        entry_price=row.entry_price,
        entry_time=row.entry_time,
        first_cycle_done=row.first_cycle_done,
        waiting=row.waiting,
        last_direction=Trend(row.last_direction) if row.last_direction else None,
        last_price=row.last_price,
        consecutive_drops=row.consecutive_drops,
        down_since=row.down_since,
    )


def _position_to_row(position: Position, row: models.Position) -> None:
    row.is_long = position.is_long
    row.entry_price = position.entry_price
    row.entry_time = position.entry_time
    row.first_cycle_done = position.first_cycle_done
    row.waiting = position.waiting
    row.last_direction = position.last_direction.value if position.last_direction else None
    row.last_price = position.last_price
    row.consecutive_drops = position.consecutive_drops
    row.down_since = position.down_since


__all__ = [
    "AmbiguousPosition",
    "Ledger",
    "ObservationInput",
    "Reason",
    "RecordedTrade",
    "StoredObservation",
]
