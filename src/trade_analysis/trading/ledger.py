"""The ledger: the one writer of trading rows.

Each call is one transaction: the bots' gates, their positions, the trades, the
history records they open or complete and the bots' totals change together or
not at all. Positions live in the database, so a restart (or another API
process) continues exactly where the last left off.

The write path is SQLAlchemy Core, not the ORM: it runs once per captured
frame and per upload, and the unit-of-work machinery cost several times the
SQL itself. A transaction reads each bot and position it needs once (locked),
keeps them as plain dicts, and writes each back once at the end
(`_WorkingSet`). Several observations can share one transaction
(`record_observations`), which is how `LedgerWriter` commits them in groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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

BOTS: Table = models.Bot.__table__  # type: ignore[assignment]
POSITIONS: Table = models.Position.__table__  # type: ignore[assignment]
OBSERVATIONS: Table = models.Observation.__table__  # type: ignore[assignment]
RECORDS: Table = models.Record.__table__  # type: ignore[assignment]
TRADES: Table = models.Trade.__table__  # type: ignore[assignment]
TICKER_TOTALS: Table = models.TickerTotal.__table__  # type: ignore[assignment]

# What a transaction may change on a bot or a position; written back in one statement each.
_BOT_STATE = (
    "hwnd",
    "name",
    "ticker",
    "updated_at",
    "last_signal",
    "open_direction",
    "open_price",
    "open_time",
    "total_pnl",
)
_POSITION_STATE = (
    "is_long",
    "entry_price",
    "entry_time",
    "first_cycle_done",
    "waiting",
    "last_direction",
    "last_price",
    "consecutive_drops",
    "down_since",
    "open_record_id",
)
_BOT_WRITE = (
    update(BOTS)
    .where(BOTS.c.bot == bindparam("key_bot"))
    .values({name: bindparam(name) for name in _BOT_STATE})
)
_POSITION_WRITE = (
    update(POSITIONS)
    .where(POSITIONS.c.bot == bindparam("key_bot"), POSITIONS.c.ticker == bindparam("key_ticker"))
    .values({name: bindparam(name) for name in _POSITION_STATE})
)
# Prebuilt: building a statement costs more than running it on this path.
_BOT_ONE = select(BOTS).where(BOTS.c.bot == bindparam("key")).with_for_update()
# ORDER BY: PostgreSQL locks rows in the order it returns them, so always in key order.
_BOT_MANY = (
    select(BOTS)
    .where(BOTS.c.bot.in_(bindparam("keys", expanding=True)))
    .order_by(BOTS.c.bot)
    .with_for_update()
)
_POSITION_ONE = (
    select(POSITIONS)
    .where(POSITIONS.c.bot == bindparam("bot"), POSITIONS.c.ticker == bindparam("ticker"))
    .with_for_update()
)
_POSITION_MANY = (
    select(POSITIONS)
    .where(tuple_(POSITIONS.c.bot, POSITIONS.c.ticker).in_(bindparam("keys", expanding=True)))
    .order_by(POSITIONS.c.bot, POSITIONS.c.ticker)
    .with_for_update()
)
_NEW_POSITION = {
    "is_long": False,
    "first_cycle_done": False,
    "waiting": False,
    "consecutive_drops": 0,
}

PositionKey = tuple[str, str]


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
    # The price as the client wrote it ("$189.23"), kept on the history record.
    price_text: str | None = None

    def row(self) -> dict[str, Any]:
        """The columns an observation and its history record share."""
        return {
            "ts": self.at,
            "bot": self.bot,
            "name": self.name,
            "ticker": self.ticker,
            "price": self.price,
            "trend": self.trend.value,
            "image_path": self.image_path,
            "meta": self.meta,
        }


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


class ObservationSink(Protocol):
    """Where captures send what they read: the ledger itself, or its group-commit writer."""

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation: ...


class Ledger:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- writes ---------------------------------------------------------------

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation:
        """Store an observation (and its history record) and trade on it, atomically."""
        (stored,) = self.record_observations([(observation, as_history)])
        return stored

    def record_observations(
        self, batch: Sequence[tuple[ObservationInput, bool]]
    ) -> list[StoredObservation]:
        """Several observations in one transaction, applied in order as if one by one.

        Each item is (observation, as_history). All are stored or none is.
        """
        with self._db.transaction() as connection:
            rows = _working_set(connection)
            rows.lock_bots(_known_hwnds(observation for observation, _ in batch))
            rows.load_positions(
                (observation.bot, observation.ticker)
                for observation, _ in batch
                if observation.ticker is not None and observation.price is not None
            )
            observation_rows, history = [], []
            for observation, as_history in batch:
                seen = observation.row()
                observation_rows.append(seen | {"confidence": observation.confidence})
                if as_history:
                    history.append(
                        seen | {"kind": "observation", "price_text": observation.price_text}
                    )
            observation_ids = _insert_returning_ids(connection, OBSERVATIONS, observation_rows)
            history_ids = iter(_insert_returning_ids(connection, RECORDS, history))
            stored = []
            for (observation, as_history), observation_id in zip(
                batch, observation_ids, strict=True
            ):
                bot = rows.bot(observation.bot)
                bot["name"] = observation.name or bot["name"]
                bot["ticker"] = observation.ticker or bot["ticker"]
                bot["updated_at"] = observation.at
                trade, trade_id = _trade_on(rows, bot, observation)
                record_id = next(history_ids) if as_history else None
                stored.append(StoredObservation(observation_id, record_id, trade, trade_id))
            rows.write_back()
            return stored

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
        with self._db.transaction() as connection:
            bot_key = bot or _bot_for_manual(connection, ticker, side)
            rows = _working_set(connection)
            rows.lock_bots({bot_key: None})
            position_row = rows.position((bot_key, ticker))
            position, trade = manual_order(_position_from_row(position_row), side, price, at)
            _position_to_row(position, position_row)
            trade_id = _write_trade(rows, rows.bot(bot_key), position_row, trade, meta or {})
            rows.write_back()
            return RecordedTrade(trade_id, trade)

    def manual_signal(
        self,
        *,
        ticker: str,
        trend: Trend,
        price: Decimal,
        at: datetime,
        bot: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> StoredObservation:
        """A signal given by hand (the original's `up`/`down` to /manual_trade).

        The simulator decides, as for a capture: it may trade or not. Without a
        bot, a `down` goes to the bot holding the ticker (as a sell order would).
        """
        if bot is None:
            side = Side.SELL if trend is Trend.DOWN else Side.BUY
            with self._db.reading() as session:
                bot = _bot_for_manual(session.connection(), ticker, side)
        signal = ObservationInput(
            bot=bot,
            at=at,
            ticker=ticker,
            price=price,
            trend=trend,
            meta={"source": "manual_trade", **(meta or {})},
        )
        return self.record_observation(signal, as_history=False)

    def save_bot_settings(
        self, bot: str, hwnd: int | None, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge settings (crop, rules, title pattern) into the bot's saved meta."""
        with self._db.transaction() as connection:
            rows = _working_set(connection)
            rows.lock_bots({bot: hwnd})
            meta = {**(rows.bot(bot)["meta"] or {}), **settings}
            connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(meta=meta))
            rows.write_back()
            return meta

    def bot_settings(self, bot: str) -> dict[str, Any]:
        """The settings saved for a bot (empty for a bot never seen)."""
        with self._db.reading() as session:
            row = session.get(models.Bot, bot)
            return dict(row.meta or {}) if row is not None else {}

    def delete_bot(self, bot: str) -> bool:
        """Remove the bot's row; its trades, records and positions stay in the ledger."""
        with self._db.transaction() as connection:
            result = connection.execute(delete(BOTS).where(BOTS.c.bot == bot))
            return bool(result.rowcount)


# -- one transaction's rows ------------------------------------------------------


class _WorkingSet:
    """The bots and positions one transaction touches: read once and locked, written once.

    Rows are locked in key order (bots, then positions, then ticker totals at the
    end), so two transactions on PostgreSQL never wait for each other in a cycle. On
    SQLite the transaction already holds the database's write lock.
    """

    def __init__(self, connection: Connection, insert_or_nothing: Any) -> None:
        self.connection = connection
        self._insert_or_nothing = insert_or_nothing
        self._bots: dict[str, dict[str, Any]] = {}
        self._positions: dict[PositionKey, dict[str, Any]] = {}
        self._changed_positions: set[PositionKey] = set()
        # Per ticker: P&L, wins and losses this transaction adds.
        self._totals: dict[str, tuple[Decimal, int, int]] = {}

    def lock_bots(self, hwnds: dict[str, int | None]) -> None:
        """Load (creating if missing) and lock these bots; a known hwnd is remembered."""
        wanted = sorted(set(hwnds) - self._bots.keys())
        if wanted:
            found = self._bot_rows(wanted)
            missing = [key for key in wanted if key not in {row["bot"] for row in found}]
            if missing:
                self._create(
                    BOTS, [{"bot": key, "hwnd": hwnds[key], "meta": {}} for key in missing]
                )
                found += self._bot_rows(missing)
            for row in found:
                self._bots[row["bot"]] = row
        for key, hwnd in hwnds.items():
            if hwnd is not None:
                self._bots[key]["hwnd"] = hwnd

    def bot(self, key: str) -> dict[str, Any]:
        return self._bots[key]

    def load_positions(self, keys: Iterable[PositionKey]) -> None:
        """Load and lock the positions that exist among `keys` (missing ones come on demand)."""
        wanted = sorted(set(keys) - self._positions.keys())
        if len(wanted) == 1:
            rows = self._rows(_POSITION_ONE, {"bot": wanted[0][0], "ticker": wanted[0][1]})
        elif wanted:
            rows = self._rows(_POSITION_MANY, {"keys": wanted})
        else:
            return
        for row in rows:
            self._positions[(row["bot"], row["ticker"])] = row

    def position(self, key: PositionKey) -> dict[str, Any]:
        """The position for (bot, ticker), created flat if this is its first signal."""
        if key not in self._positions:
            bot, ticker = key
            self._create(POSITIONS, [{"bot": bot, "ticker": ticker, **_NEW_POSITION}])
            (self._positions[key],) = self._rows(_POSITION_ONE, {"bot": bot, "ticker": ticker})
        self._changed_positions.add(key)
        return self._positions[key]

    def add_to_totals(self, ticker: str, profit: Decimal) -> None:
        """Count a sell; the totals are written in `write_back`, in ticker order."""
        pnl, wins, losses = self._totals.get(ticker, (Decimal(0), 0, 0))
        won = profit > 0
        self._totals[ticker] = (pnl + profit, wins + int(won), losses + int(not won))

    def write_back(self) -> None:
        """The bots and the positions used, in one statement per table, then the totals."""
        if self._bots:
            self.connection.execute(
                _BOT_WRITE,
                [_state(row, _BOT_STATE, "bot") for row in self._bots.values()],
            )
        if self._changed_positions:
            changed = [self._positions[key] for key in self._changed_positions]
            self.connection.execute(
                _POSITION_WRITE,
                [_state(row, _POSITION_STATE, "bot", "ticker") for row in changed],
            )
        for ticker in sorted(self._totals):
            self._write_total(ticker, *self._totals[ticker])

    def _write_total(self, ticker: str, profit: Decimal, wins: int, losses: int) -> None:
        lookup = select(TICKER_TOTALS).where(TICKER_TOTALS.c.ticker == ticker).with_for_update()
        found = self._rows(lookup)
        if not found:
            zero = {"ticker": ticker, "total_pnl": Decimal(0), "wins": 0, "losses": 0}
            self._create(TICKER_TOTALS, [zero])
            found = self._rows(lookup)
        (total,) = found
        self.connection.execute(
            update(TICKER_TOTALS)
            .where(TICKER_TOTALS.c.ticker == ticker)
            .values(
                total_pnl=total["total_pnl"] + profit,
                wins=total["wins"] + wins,
                losses=total["losses"] + losses,
            )
        )

    def _bot_rows(self, keys: list[str]) -> list[dict[str, Any]]:
        if len(keys) == 1:
            return self._rows(_BOT_ONE, {"key": keys[0]})
        return self._rows(_BOT_MANY, {"keys": keys})

    def _rows(
        self, statement: Any, parameters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return [dict(row) for row in self.connection.execute(statement, parameters).mappings()]

    def _create(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # Insert-or-nothing: two processes creating the same row at once end up with one.
        self.connection.execute(self._insert_or_nothing(table).on_conflict_do_nothing(), rows)


def _known_hwnds(observations: Iterable[ObservationInput]) -> dict[str, int | None]:
    """Each bot with the window it was last seen in (an upload names none)."""
    hwnds: dict[str, int | None] = {}
    for observation in observations:
        if observation.hwnd is not None or observation.bot not in hwnds:
            hwnds[observation.bot] = observation.hwnd
    return hwnds


def _working_set(connection: Connection) -> _WorkingSet:
    dialect = connection.dialect.name
    return _WorkingSet(connection, pg_insert if dialect == "postgresql" else sqlite_insert)


def _state(row: dict[str, Any], columns: tuple[str, ...], *keys: str) -> dict[str, Any]:
    return {name: row[name] for name in columns} | {f"key_{key}": row[key] for key in keys}


def _insert_returning_ids(
    connection: Connection, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert rows and return their ids in the rows' order (many rows: one statement)."""
    if len(rows) == 1:
        # One row needs no RETURNING machinery: the driver reports the new key.
        (new_id,) = connection.execute(insert(table), rows[0]).inserted_primary_key or (None,)
        assert new_id is not None, f"{table.name} insert reported no id"
        return [int(new_id)]
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(connection.execute(statement, rows).scalars())


# -- the steps of one observation or order -------------------------------------------


def _trade_on(
    rows: _WorkingSet, bot: dict[str, Any], observation: ObservationInput
) -> tuple[TradeEvent | None, int | None]:
    if observation.ticker is None or observation.price is None:
        return None, None
    key = SignalKey(observation.ticker, observation.price, observation.trend)
    if not passes_gate(SignalKey.from_json(bot["last_signal"]), key):
        logger.debug("bot=%s ticker=%s unchanged signal ignored", bot["bot"], key.ticker)
        return None, None
    bot["last_signal"] = key.to_json()
    signal = Signal(bot["bot"], key.ticker, key.price, key.trend, observation.at)
    position_row = rows.position((bot["bot"], key.ticker))
    position, trade = decide(_position_from_row(position_row), signal, rules_from_meta(bot["meta"]))
    _position_to_row(position, position_row)
    if trade is None:
        return None, None
    meta = {"trend": observation.trend.value, "name": observation.name}
    if observation.image_path:
        meta["image_path"] = observation.image_path
    return trade, _write_trade(rows, bot, position_row, trade, meta)


def _write_trade(
    rows: _WorkingSet,
    bot: dict[str, Any],
    position_row: dict[str, Any],
    trade: TradeEvent,
    meta: dict[str, Any],
) -> int:
    connection = rows.connection
    if trade.side is Side.BUY:
        record_id = _open_record(connection, trade, meta)
        position_row["open_record_id"] = record_id
        bot["open_direction"], bot["open_price"], bot["open_time"] = "long", trade.price, trade.at
    else:
        record_id = _complete_record(connection, position_row["open_record_id"], trade)
        position_row["open_record_id"] = None
        profit = trade.profit or Decimal(0)
        bot["open_direction"], bot["open_price"], bot["open_time"] = None, None, None
        bot["total_pnl"] = (bot["total_pnl"] or Decimal(0)) + profit
        rows.add_to_totals(trade.ticker, profit)
    (trade_id,) = _insert_returning_ids(
        connection,
        TRADES,
        [
            {
                "ts": trade.at,
                "bot": trade.bot,
                "ticker": trade.ticker,
                "side": trade.side.value,
                "price": trade.price,
                "reason": trade.reason.value,
                "profit": trade.profit,
                "record_id": record_id,
                "meta": {k: v for k, v in meta.items() if v is not None},
            }
        ],
    )
    logger.info(
        "trade bot=%s ticker=%s side=%s price=%s reason=%s profit=%s",
        trade.bot,
        trade.ticker,
        trade.side.value,
        trade.price,
        trade.reason.value,
        trade.profit,
    )
    return trade_id


def _open_record(connection: Connection, trade: TradeEvent, meta: dict[str, Any]) -> int:
    (record_id,) = _insert_returning_ids(
        connection,
        RECORDS,
        [
            {
                "ts": trade.at,
                "kind": "trade",
                "bot": trade.bot,
                "image_path": meta.get("image_path"),
                "name": meta.get("name"),
                "ticker": trade.ticker,
                "price": trade.price,
                "trend": meta.get("trend"),
                "buy_price": trade.price,
                "buy_time": trade.at,
                "meta": {"buy_reason": trade.reason.value},
            }
        ],
    )
    return record_id


def _complete_record(connection: Connection, record_id: int | None, trade: TradeEvent) -> int:
    """Put the sell on the record its buy opened (or a new one, if that record is gone)."""
    sold = {"profit": str(trade.profit), "sell_reason": trade.reason.value}
    found = None
    if record_id is not None:
        found = connection.execute(
            select(RECORDS.c.meta).where(RECORDS.c.id == record_id)
        ).one_or_none()
    if found is None:
        # The buy's record was never written (a position from before records existed).
        (record_id,) = _insert_returning_ids(
            connection,
            RECORDS,
            [
                {
                    "ts": trade.entry_time or trade.at,
                    "kind": "trade",
                    "bot": trade.bot,
                    "ticker": trade.ticker,
                    "price": trade.entry_price,
                    "buy_price": trade.entry_price,
                    "buy_time": trade.entry_time,
                    "sell_price": trade.price,
                    "sell_time": trade.at,
                    "meta": sold,
                }
            ],
        )
        return record_id
    connection.execute(
        update(RECORDS)
        .where(RECORDS.c.id == record_id)
        .values(sell_price=trade.price, sell_time=trade.at, meta={**(found.meta or {}), **sold})
    )
    assert record_id is not None
    return record_id


def _bot_for_manual(connection: Connection, ticker: str, side: Side) -> str:
    """Which bot a manual order without one belongs to."""
    if side is Side.BUY:
        return "manual"
    holders = (
        connection.execute(
            select(POSITIONS.c.bot).where(
                POSITIONS.c.ticker == ticker, POSITIONS.c.is_long.is_(True)
            )
        )
        .scalars()
        .all()
    )
    if len(holders) > 1:
        raise AmbiguousPosition(
            f"{ticker} is held by several bots ({', '.join(sorted(holders))}); "
            "say which one with 'bot'"
        )
    return holders[0] if holders else "manual"


def _position_from_row(row: dict[str, Any]) -> Position:
    return Position(
        bot=row["bot"],
        ticker=row["ticker"],
        is_long=row["is_long"],
        entry_price=row["entry_price"],
        entry_time=row["entry_time"],
        first_cycle_done=row["first_cycle_done"],
        waiting=row["waiting"],
        last_direction=Trend(row["last_direction"]) if row["last_direction"] else None,
        last_price=row["last_price"],
        consecutive_drops=row["consecutive_drops"],
        down_since=row["down_since"],
    )


def _position_to_row(position: Position, row: dict[str, Any]) -> None:
    row["is_long"] = position.is_long
    row["entry_price"] = position.entry_price
    row["entry_time"] = position.entry_time
    row["first_cycle_done"] = position.first_cycle_done
    row["waiting"] = position.waiting
    row["last_direction"] = position.last_direction.value if position.last_direction else None
    row["last_price"] = position.last_price
    row["consecutive_drops"] = position.consecutive_drops
    row["down_since"] = position.down_since


__all__ = [
    "AmbiguousPosition",
    "Ledger",
    "ObservationInput",
    "ObservationSink",
    "Reason",
    "RecordedTrade",
    "StoredObservation",
]
