"""The ledger: the one writer of trading rows.

Each call is one transaction: the bots' gates, their positions, the trades, the
history records they open or complete and the bots' totals change together or
not at all. Positions live in the database, so a restart (or another API
process) continues exactly where the last left off.

The write path is SQLAlchemy Core, not the ORM: it runs once per captured
frame and per upload, and the unit-of-work machinery cost several times the
SQL itself. A transaction reads each bot and position it needs once (locked),
keeps them as small dataclasses, and writes each back once at the end
(`WorkingSet`, as `BotRow` and `PositionRow`). Several observations can share one transaction
(`record_observations`), which is how `LedgerWriter` commits them in groups.

This module is the write path (observations, orders, closing positions). Its
other rooms: `rows.py` (the tables and the row types), `working_set.py` (one
transaction's rows), `writes.py` (the writer thread's connection and, on
SQLite, the rows it keeps), `registry.py` (bots, their settings and windows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from trade_analysis.db.statements import CoreStatements, Statements
from trade_analysis.domain import Side, Trend, to_wire
from trade_analysis.trading.fills import Costs
from trade_analysis.trading.gate import SignalKey, passes_gate
from trade_analysis.trading.indicators import IndicatorBook, distinct_readings, explain, steer
from trade_analysis.trading.registry import BotRegistry, bot_for_manual
from trade_analysis.trading.rows import (
    OBSERVATIONS,
    POSITIONS,
    RECORDS,
    TRADES,
    AmbiguousPosition,
    BotCapture,
    BotRow,
    BoundBot,
    CaptureWish,
    IdempotencyKeyReused,
    ObservationInput,
    ObservationSink,
    PositionRow,
    RecordedTrade,
    StoredObservation,
    UnknownBot,
)
from trade_analysis.trading.simulator import (
    NoOpenPosition,
    Reason,
    Signal,
    TradeEvent,
    close_position,
    decide,
    manual_order,
)
from trade_analysis.trading.working_set import (
    RECORD_META,
    RECORD_SELL,
    KeyedBatch,
    WorkingSet,
    earlier_answers,
    known_hwnds,
    remember_keys,
    sort_by_key,
    working_set,
)
from trade_analysis.trading.writes import RowCache, Unpinned, Writes

logger = logging.getLogger(__name__)


class Ledger(BotRegistry):
    """The one writer of trading rows (and, through `BotRegistry`, of the bots')."""

    @cached_property
    def indicators(self) -> IndicatorBook:
        """Indicator state per (bot, ticker) in this process, made from stored observations."""
        return IndicatorBook()

    # -- writes ---------------------------------------------------------------

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation:
        """Store an observation (and its history record) and trade on it, atomically."""
        (stored,) = self.record_observations([(observation, as_history)])
        if isinstance(stored, IdempotencyKeyReused):
            raise stored
        return stored

    def record_observations(
        self, batch: Sequence[tuple[ObservationInput, bool]], *, writes: Writes | None = None
    ) -> list[StoredObservation | IdempotencyKeyReused]:
        """Several observations in one transaction, applied in order as if one by one.

        Each item is (observation, as_history). All are stored or none is, except
        one whose idempotency key came first with a different request: it is left
        out and answered with `IdempotencyKeyReused`, and the others go on.
        `writes`: the one thread that writes most (`LedgerWriter`) keeps its
        connection and the rows it read there (see `Writes`).
        """
        with (writes or Unpinned(self._db)).transaction() as (statements, cache):
            answered, hashes = earlier_answers(statements.connection, batch)
            keyed = sort_by_key(batch, answered, hashes)
            results: list[StoredObservation | None] = [None] * len(batch)
            if keyed.fresh:
                batch_fresh = [batch[index] for index in keyed.fresh]
                stored = self._store_fresh(statements, batch_fresh, cache)
                for index, stored_one in zip(keyed.fresh, stored, strict=True):
                    results[index] = stored_one
            remember_keys(
                statements,
                {
                    key: (results[index], batch[index][0].request_hash)
                    for key, index in keyed.first_with_key.items()
                },
            )
            return [
                self._reply(index, observation, results, answered, keyed)
                for index, (observation, _) in enumerate(batch)
            ]

    @staticmethod
    def _reply(
        index: int,
        observation: ObservationInput,
        results: list[StoredObservation | None],
        answered: dict[str, StoredObservation],
        keyed: KeyedBatch,
    ) -> StoredObservation | IdempotencyKeyReused:
        """What one observation of a batch is answered: a retry with what its key's first
        observation stored."""
        result = results[index]
        key = observation.idempotency_key
        if result is not None or key is None:
            assert result is not None, "every observation without a key is stored"
            return result
        if index in keyed.reused:
            return IdempotencyKeyReused(key)
        result = answered.get(key) or results[keyed.first_with_key[key]]
        assert result is not None, "a key's first observation is stored"
        return replace(result, replayed=True)

    def writes(self) -> Writes:
        """A connection of its own for the thread that writes most; `close` it after."""
        return Writes(self._db)

    def _store_fresh(
        self,
        statements: Statements,
        batch: Sequence[tuple[ObservationInput, bool]],
        cache: RowCache | None,
    ) -> list[StoredObservation]:
        """Observations never stored before, in one transaction."""
        rows = working_set(statements, cache)
        rows.lock_bots(known_hwnds(observation for observation, _ in batch))
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
                history.append(seen | {"kind": "observation", "price_text": observation.price_text})
        observation_ids = statements.insert_ids(OBSERVATIONS, observation_rows)
        history_ids = iter(statements.insert_ids(RECORDS, history))
        stored = []
        for (observation, as_history), observation_id in zip(batch, observation_ids, strict=True):
            bot = rows.bot(observation.bot)
            bot.saw(observation)
            trade, trade_id, indicator = _trade_on(
                rows, bot, observation, self.default_costs, self.indicators
            )
            record_id = next(history_ids) if as_history else None
            stored.append(
                StoredObservation(
                    observation_id,
                    record_id,
                    trade,
                    trade_id,
                    image_path=observation.image_path,
                    at=observation.at,
                    indicator=indicator,
                )
            )
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
            bot_key = bot or bot_for_manual(connection, ticker, side)
            rows = working_set(CoreStatements(connection))
            rows.lock_bots({bot_key: None})
            position_row = rows.position((bot_key, ticker))
            bot_row = rows.bot(bot_key)
            costs = bot_row.trading_costs(self.default_costs)
            position_row.position, trade = manual_order(
                position_row.position, side, price, at, costs, bot_row.total_pnl
            )
            trade_id = _write_trade(rows, bot_row, position_row, trade, meta or {})
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
                bot = bot_for_manual(session.connection(), ticker, side)
        signal = ObservationInput(
            bot=bot,
            at=at,
            ticker=ticker,
            price=price,
            trend=trend,
            meta={"source": "manual_trade", **(meta or {})},
        )
        return self.record_observation(signal, as_history=False)

    def close_positions(self, bot: str, at: datetime) -> list[RecordedTrade]:
        """Sell every open position of the bot at the last price it read (`manual close`),
        in one transaction; NoOpenPosition when it holds none."""
        with self._db.transaction() as connection:
            closed = self._close(connection, bot, at, Reason.MANUAL_CLOSE)
            if not closed:
                raise NoOpenPosition(f"bot {bot!r} holds no open position")
            return closed

    def close_all_positions(self, at: datetime) -> list[RecordedTrade]:
        """Sell every open position of every bot at the last price each read (`close all`),
        in one transaction; nothing when none is open."""
        with self._db.transaction() as connection:
            return self._close(connection, None, at, Reason.CLOSE_ALL)

    def _close(
        self, connection: Connection, bot: str | None, at: datetime, reason: Reason
    ) -> list[RecordedTrade]:
        """Sell the open positions of `bot` (of every bot: None), each at its last price."""
        query = select(POSITIONS.c.bot, POSITIONS.c.ticker).where(POSITIONS.c.is_long.is_(True))
        if bot is not None:
            query = query.where(POSITIONS.c.bot == bot)
        keys = [(row.bot, row.ticker) for row in connection.execute(query)]
        if not keys:
            return []
        rows = working_set(CoreStatements(connection))
        rows.lock_bots(dict.fromkeys(sorted({key for key, _ in keys})))
        rows.load_positions(keys)
        closed = []
        for key in sorted(keys):
            bot_row, position_row = rows.bot(key[0]), rows.position(key)
            if not position_row.position.is_long:  # sold since it was listed
                continue
            costs = bot_row.trading_costs(self.default_costs)
            position_row.position, trade = close_position(position_row.position, at, costs, reason)
            trade_id = _write_trade(rows, bot_row, position_row, trade, {"source": "close"})
            closed.append(RecordedTrade(trade_id, trade))
        rows.write_back()
        return closed


# -- the steps of one observation or order -------------------------------------------


def _trade_on(
    rows: WorkingSet,
    bot: BotRow,
    observation: ObservationInput,
    default_costs: Costs,
    book: IndicatorBook,
) -> tuple[TradeEvent | None, int | None, str | None]:
    """The trade (and its id) an observation causes, and what the bot's indicators said."""
    indicators = bot.indicator_settings()
    if observation.ticker is None or observation.price is None:
        said = "no price read: no indicator computed" if indicators is not None else None
        return None, None, said
    key = SignalKey(observation.ticker, observation.price, observation.trend)
    previous = SignalKey.from_json(bot.last_signal)
    # The gate's key, and the reading it came from (the bot's card shows it).
    bot.last_signal = {
        **key.to_json(),
        "confidence": observation.confidence,
        "at": to_wire(observation.at),
        "image_path": observation.image_path,
    }
    if not passes_gate(previous, key):
        logger.debug("bot=%s ticker=%s unchanged signal ignored", bot.bot, key.ticker)
        said = "same reading as the last: not a new price" if indicators is not None else None
        return None, None, said
    signal = Signal(bot.bot, key.ticker, key.price, key.trend, observation.at)
    position_row = rows.position((bot.bot, key.ticker))
    costs = bot.trading_costs(default_costs)
    why = None
    if indicators is not None:

        def history(count: int) -> Iterable[Decimal]:
            return _prices_before(rows, bot.bot, key.ticker, observation.at, count)

        last_price = position_row.position.last_price
        verdict = book.reading(bot.bot, key.ticker, indicators, key.price, history, last_price)
        signal, position_row.position, why = steer(
            indicators, signal, position_row.position, verdict
        )
    position_row.position, trade = decide(
        position_row.position, signal, bot.trading_rules(), costs, bot.total_pnl
    )
    if trade is None:
        return None, None, why
    if why is not None:
        trade = explain(trade, why)
    meta = {"trend": observation.trend.value, "name": observation.name, "why": trade.why}
    if observation.image_path:
        meta["image_path"] = observation.image_path
    return trade, _write_trade(rows, bot, position_row, trade, meta), why


def _prices_before(
    rows: WorkingSet, bot: str, ticker: str, at: datetime, count: int
) -> list[Decimal]:
    """The last `count` prices the bot read for `ticker` before `at`, oldest first, a
    repeated reading once (as the gate lets them through)."""
    found = rows.statements.connection.execute(
        select(OBSERVATIONS.c.price, OBSERVATIONS.c.trend)
        .where(
            OBSERVATIONS.c.bot == bot,
            OBSERVATIONS.c.ticker == ticker,
            OBSERVATIONS.c.price.is_not(None),
            OBSERVATIONS.c.ts < at,
        )
        .order_by(OBSERVATIONS.c.ts.desc(), OBSERVATIONS.c.id.desc())
        .limit(4 * count)
    ).all()
    return distinct_readings([(row.price, row.trend) for row in reversed(found)])[-count:]


def _write_trade(
    rows: WorkingSet,
    bot: BotRow,
    position_row: PositionRow,
    trade: TradeEvent,
    meta: dict[str, Any],
) -> int:
    statements = rows.statements
    if trade.side is Side.BUY:
        position_row.open_record_id = _open_record(statements, trade, meta)
        record_id = position_row.open_record_id
    else:
        record_id = _complete_record(statements, position_row.open_record_id, trade)
        position_row.open_record_id = None
        profit = trade.profit or Decimal(0)
        bot.total_pnl += profit
        rows.add_to_totals(trade.ticker, profit)
    (trade_id,) = statements.insert_ids(
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
                "quantity": trade.quantity,
                "fill_price": trade.filled_at,
                "fee": trade.fee,
                "record_id": record_id,
                "meta": {k: v for k, v in meta.items() if v is not None},
            }
        ],
    )
    logger.info(
        "trade bot=%s ticker=%s side=%s price=%s quantity=%s fill=%s fee=%s reason=%s profit=%s",
        trade.bot,
        trade.ticker,
        trade.side.value,
        trade.price,
        trade.quantity,
        trade.filled_at,
        trade.fee,
        trade.reason.value,
        trade.profit,
        extra={"bot": trade.bot, "ticker": trade.ticker},
    )
    return trade_id


def _open_record(statements: Statements, trade: TradeEvent, meta: dict[str, Any]) -> int:
    (record_id,) = statements.insert_ids(
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


def _complete_record(statements: Statements, record_id: int | None, trade: TradeEvent) -> int:
    """Put the sell on the record its buy opened (or a new one, if that record is gone)."""
    sold = {"profit": str(trade.profit), "sell_reason": trade.reason.value}
    found = None
    if record_id is not None:
        found = statements.connection.execute(RECORD_META, {"id": record_id}).one_or_none()
    if found is None:
        # The buy's record was never written (a position from before records existed).
        (record_id,) = statements.insert_ids(
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
    statements.execute(
        RECORD_SELL,
        {
            "key_id": record_id,
            "sell_price": trade.price,
            "sell_time": trade.at,
            "meta": {**(found.meta or {}), **sold},
        },
    )
    assert record_id is not None
    return record_id


__all__ = [
    "AmbiguousPosition",
    "BotCapture",
    "BotRow",
    "BoundBot",
    "CaptureWish",
    "IdempotencyKeyReused",
    "Ledger",
    "ObservationInput",
    "ObservationSink",
    "PositionRow",
    "Reason",
    "RecordedTrade",
    "RowCache",
    "StoredObservation",
    "UnknownBot",
    "Writes",
]
