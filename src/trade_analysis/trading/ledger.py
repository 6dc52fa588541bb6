"""The ledger: the one writer of trading rows.

Each call is one transaction: the bots' gates, their positions, the trades, the
history records they open or complete and the bots' totals change together or
not at all. Positions live in the database, so a restart (or another API
process) continues exactly where the last left off.

The write path is SQLAlchemy Core, not the ORM: it runs once per captured
frame and per upload, and the unit-of-work machinery cost several times the
SQL itself. A transaction reads each bot and position it needs once (locked),
keeps them as small dataclasses, and writes each back once at the end
(`_WorkingSet`, as `BotRow` and `PositionRow`). Several observations can share one transaction
(`record_observations`), which is how `LedgerWriter` commits them in groups.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import BindParameter

from trade_analysis.db import models
from trade_analysis.db.session import Database
from trade_analysis.db.statements import CoreStatements, SqliteStatements, Statements
from trade_analysis.domain import Side, Trend, utcnow
from trade_analysis.trading.binding import (
    BotCandidate,
    BotState,
    WindowIdentity,
    choose_bot,
    new_bot_key,
    unique_name,
)
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.gate import SignalKey, passes_gate
from trade_analysis.trading.simulator import (
    NoOpenPosition,
    Position,
    Reason,
    Rules,
    Signal,
    TradeEvent,
    close_position,
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
IDEMPOTENCY_KEYS: Table = models.IdempotencyKey.__table__  # type: ignore[assignment]

# What a transaction may change on a bot or a position; written back in one statement each.
# Not `hwnd`: which window a bot reads from is written only by binding (`bind_window`).
_BOT_STATE = (
    "name",
    "ticker",
    "updated_at",
    "last_signal",
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


# One statement per number of keys (a group holds at most a few dozen), with a plain
# parameter per key: an expanding IN is rendered again on every execution, which cost more
# than the query. ORDER BY: PostgreSQL locks rows in the order it returns them, so always
# in key order.
@functools.lru_cache(maxsize=256)
def _bots_by_key(count: int) -> Select[Any]:
    keys: list[BindParameter[Any]] = [bindparam(f"k{index}") for index in range(count)]
    return select(BOTS).where(BOTS.c.bot.in_(keys)).order_by(BOTS.c.bot).with_for_update()


@functools.lru_cache(maxsize=256)
def _positions_by_key(count: int) -> Select[Any]:
    keys = [tuple_(bindparam(f"b{index}"), bindparam(f"t{index}")) for index in range(count)]
    return (
        select(POSITIONS)
        .where(tuple_(POSITIONS.c.bot, POSITIONS.c.ticker).in_(keys))
        .order_by(POSITIONS.c.bot, POSITIONS.c.ticker)
        .with_for_update()
    )


_POSITION_ONE = (
    select(POSITIONS)
    .where(POSITIONS.c.bot == bindparam("bot"), POSITIONS.c.ticker == bindparam("ticker"))
    .with_for_update()
)
_TOTAL_ONE = (
    select(TICKER_TOTALS).where(TICKER_TOTALS.c.ticker == bindparam("ticker")).with_for_update()
)
_TOTAL_WRITE = (
    update(TICKER_TOTALS)
    .where(TICKER_TOTALS.c.ticker == bindparam("key_ticker"))
    .values({name: bindparam(name) for name in ("total_pnl", "wins", "losses")})
)
_RECORD_META = select(RECORDS.c.meta).where(RECORDS.c.id == bindparam("id"))
_RECORD_SELL = (
    update(RECORDS)
    .where(RECORDS.c.id == bindparam("key_id"))
    .values({name: bindparam(name) for name in ("sell_price", "sell_time", "meta")})
)
_INSERT_KEYS = insert(IDEMPOTENCY_KEYS)
_NEW_POSITION = {
    "is_long": False,
    "first_cycle_done": False,
    "waiting": False,
    "consecutive_drops": 0,
}

PositionKey = tuple[str, str]


class AmbiguousPosition(NoOpenPosition):
    """A sell without a bot matches open positions of several bots."""


class UnknownBot(LookupError):
    def __init__(self, bot: str) -> None:
        super().__init__(f"no bot {bot!r}; see /bots")
        self.bot = bot


@dataclass(frozen=True)
class CaptureWish:
    """That a bot should capture, and how often."""

    interval: float


@dataclass(frozen=True)
class BoundBot:
    bot: str
    name: str
    created: bool


@dataclass(frozen=True)
class BotCapture:
    """What a bot wants of capture: the window it looks for, how often, whether at all."""

    bot: str
    identity: WindowIdentity | None  # None: it never read from a window
    interval: float
    capturing: bool
    paused: bool
    hwnd: int | None

    @classmethod
    def from_row(cls, row: Any) -> BotCapture:
        identity = WindowIdentity(row.process, row.stem) if row.stem is not None else None
        return cls(row.bot, identity, row.interval or 1.0, row.capturing, row.paused, row.hwnd)

    @property
    def state(self) -> BotState:
        """What capture does for it, as /bots and /workers say it."""
        if self.paused:
            return "paused"
        if not self.capturing:
            return "stopped"
        return "capturing" if self.hwnd is not None else "waiting_for_window"


_BOT_CAPTURE = select(
    BOTS.c.bot,
    BOTS.c.process,
    BOTS.c.stem,
    BOTS.c.interval,
    BOTS.c.capturing,
    BOTS.c.paused,
    BOTS.c.hwnd,
)


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
    # A client's key for this upload: a second observation with it is not stored again.
    idempotency_key: str | None = None
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
    # True when an earlier observation with the same idempotency key was stored instead.
    replayed: bool = False
    image_path: str | None = None
    # When it was seen: a retry is answered with the first one's time.
    at: datetime | None = None


@dataclass(frozen=True)
class RecordedTrade:
    trade_id: int
    trade: TradeEvent


@dataclass(slots=True)
class BotRow:
    """A bot as one transaction reads it (locked) and writes it back."""

    bot: str
    hwnd: int | None
    name: str | None
    ticker: str | None
    updated_at: datetime | None
    last_signal: dict[str, Any] | None
    total_pnl: Decimal
    meta: dict[str, Any]
    # Read from `meta` once: a row whose meta may have changed is read again (RowCache).
    _rules: Rules | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: RowMapping) -> BotRow:
        return cls(
            bot=row["bot"],
            hwnd=row["hwnd"],
            name=row["name"],
            ticker=row["ticker"],
            updated_at=row["updated_at"],
            last_signal=row["last_signal"],
            total_pnl=row["total_pnl"] if row["total_pnl"] is not None else Decimal(0),
            meta=row["meta"] or {},
        )

    def saw(self, observation: ObservationInput) -> None:
        # A bot keeps its name once it has one (binding or a rename gives it).
        self.name = self.name or observation.name
        self.ticker = observation.ticker or self.ticker
        self.updated_at = observation.at

    def settings(self) -> BotSettings:
        return BotSettings.load(self.meta)

    def trading_rules(self) -> Rules:
        if self._rules is None:
            self._rules = self.settings().trading_rules()
        return self._rules

    def parameters(self) -> dict[str, Any]:
        """For `_BOT_WRITE`."""
        return {name: getattr(self, name) for name in _BOT_STATE} | {"key_bot": self.bot}


@dataclass(slots=True)
class PositionRow:
    """The simulator's position for (bot, ticker) and the history record its buy opened."""

    position: Position
    open_record_id: int | None

    @classmethod
    def from_row(cls, row: RowMapping) -> PositionRow:
        direction = row["last_direction"]
        position = Position(
            bot=row["bot"],
            ticker=row["ticker"],
            is_long=row["is_long"],
            entry_price=row["entry_price"],
            entry_time=row["entry_time"],
            first_cycle_done=row["first_cycle_done"],
            waiting=row["waiting"],
            last_direction=Trend(direction) if direction else None,
            last_price=row["last_price"],
            consecutive_drops=row["consecutive_drops"],
            down_since=row["down_since"],
        )
        return cls(position, row["open_record_id"])

    def parameters(self) -> dict[str, Any]:
        """For `_POSITION_WRITE`."""
        position = self.position
        direction = position.last_direction
        return {
            "is_long": position.is_long,
            "entry_price": position.entry_price,
            "entry_time": position.entry_time,
            "first_cycle_done": position.first_cycle_done,
            "waiting": position.waiting,
            "last_direction": direction.value if direction is not None else None,
            "last_price": position.last_price,
            "consecutive_drops": position.consecutive_drops,
            "down_since": position.down_since,
            "open_record_id": self.open_record_id,
            "key_bot": position.bot,
            "key_ticker": position.ticker,
        }


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
        self, batch: Sequence[tuple[ObservationInput, bool]], *, writes: Writes | None = None
    ) -> list[StoredObservation]:
        """Several observations in one transaction, applied in order as if one by one.

        Each item is (observation, as_history). All are stored or none is. `writes`:
        the one thread that writes most (`LedgerWriter`) keeps its connection and the
        rows it read there (see `Writes`).
        """
        with (writes or _Unpinned(self._db)).transaction() as (statements, cache):
            answered = _earlier_answers(statements.connection, batch)
            fresh, first_with_key = _first_of_each_key(batch, answered)
            results: list[StoredObservation | None] = [None] * len(batch)
            if fresh:
                batch_fresh = [batch[index] for index in fresh]
                stored = self._store_fresh(statements, batch_fresh, cache)
                for index, stored_one in zip(fresh, stored, strict=True):
                    results[index] = stored_one
            _remember_keys(
                statements, {key: results[index] for key, index in first_with_key.items()}
            )
            # A retry is answered with what its key's first observation stored.
            replies: list[StoredObservation] = []
            for (observation, _), result in zip(batch, results, strict=True):
                key = observation.idempotency_key
                if result is None and key is not None:
                    result = answered.get(key) or results[first_with_key[key]]
                    result = replace(result, replayed=True) if result else None
                assert result is not None, "every observation is stored or a retry"
                replies.append(result)
            return replies

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
        rows = _working_set(statements, cache)
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
                history.append(seen | {"kind": "observation", "price_text": observation.price_text})
        observation_ids = statements.insert_ids(OBSERVATIONS, observation_rows)
        history_ids = iter(statements.insert_ids(RECORDS, history))
        stored = []
        for (observation, as_history), observation_id in zip(batch, observation_ids, strict=True):
            bot = rows.bot(observation.bot)
            bot.saw(observation)
            trade, trade_id = _trade_on(rows, bot, observation)
            record_id = next(history_ids) if as_history else None
            stored.append(
                StoredObservation(
                    observation_id,
                    record_id,
                    trade,
                    trade_id,
                    image_path=observation.image_path,
                    at=observation.at,
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
            bot_key = bot or _bot_for_manual(connection, ticker, side)
            rows = _working_set(CoreStatements(connection))
            rows.lock_bots({bot_key: None})
            position_row = rows.position((bot_key, ticker))
            position_row.position, trade = manual_order(position_row.position, side, price, at)
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

    def save_bot_settings(self, bot: str, hwnd: int | None, changes: BotSettings) -> BotSettings:
        """Merge the given settings into what the bot has saved; returns the result."""
        with self._db.transaction() as connection:
            rows = _working_set(CoreStatements(connection))
            rows.lock_bots({bot: None})
            if hwnd is not None and rows.bot(bot).hwnd is None:
                # A bot made for a window no other bot is bound to is bound to it.
                bound = connection.execute(select(BOTS.c.bot).where(BOTS.c.hwnd == hwnd)).first()
                if bound is None:
                    connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(hwnd=hwnd))
            saved = rows.bot(bot).settings().merge(changes)
            connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(meta=saved.to_meta()))
            rows.write_back()
            return saved

    def bot_settings(self, bot: str) -> BotSettings:
        """The settings saved for a bot (none for a bot never seen)."""
        with self._db.reading() as session:
            row = session.get(models.Bot, bot)
            return BotSettings.load(row.meta if row is not None else None)

    # -- bots: the window each reads from, and whether it should capture ------------

    def bind_window(
        self,
        hwnd: int,
        identity: WindowIdentity,
        *,
        busy: Collection[str] = (),
        bot: str | None = None,
        capture: CaptureWish | None = None,
        create: bool = False,
    ) -> BoundBot:
        """Bind a window to `bot`, or to the bot binding rules choose (trading/binding.py),
        creating one when none matches; the window's earlier bot lets go of it.

        With `capture`, the bot is to capture (at that interval) and is no longer paused.
        Raises UnknownBot for a `bot` that does not exist, unless `create` (a key
        `plan_binding` gave while the database could not be written).
        """
        with self._db.transaction() as connection:
            plan = _plan_binding(connection, hwnd, identity, busy, bot, create)
            values: dict[str, Any] = {"hwnd": hwnd, "stem": identity.stem}
            if identity.process is not None:
                values["process"] = identity.process
            if plan.name is not None:
                values["name"] = plan.name
            if capture is not None:
                values |= {"capturing": True, "paused": False, "interval": capture.interval}
            if not plan.exists:
                connection.execute(insert(BOTS).values(bot=plan.bot, total_pnl=Decimal(0), meta={}))
            connection.execute(
                update(BOTS).where(BOTS.c.hwnd == hwnd, BOTS.c.bot != plan.bot).values(hwnd=None)
            )
            connection.execute(update(BOTS).where(BOTS.c.bot == plan.bot).values(values))
            name = connection.execute(
                select(BOTS.c.name).where(BOTS.c.bot == plan.bot)
            ).scalar_one()
            logger.info(
                "window %#x bound to bot=%s (%s)", hwnd, plan.bot, name, extra={"bot": plan.bot}
            )
            return BoundBot(bot=plan.bot, name=name, created=not plan.exists)

    def plan_binding(
        self,
        hwnd: int,
        identity: WindowIdentity,
        *,
        busy: Collection[str] = (),
        bot: str | None = None,
    ) -> str:
        """The bot `bind_window` would bind, by reading only (a new key when it would make
        one): capture can start while the database cannot be written, and bind later."""
        with self._db.reading() as session:
            return _plan_binding(session.connection(), hwnd, identity, busy, bot, False).bot

    def bot_for_window(self, hwnd: int) -> str | None:
        """The bot bound to this window now, if any."""
        with self._db.reading() as session:
            return session.scalar(select(BOTS.c.bot).where(BOTS.c.hwnd == hwnd))

    def set_capture_state(
        self,
        bot: str,
        *,
        capturing: bool | None = None,
        paused: bool | None = None,
        unbind: bool = False,
        interval: float | None = None,
    ) -> bool:
        """Change what the bot wants (capture, pause, how often) or let go of its window;
        False when there is no such bot."""
        values: dict[str, Any] = {} if interval is None else {"interval": interval}
        if capturing is not None:
            values["capturing"] = capturing
        if paused is not None:
            values["paused"] = paused
        if unbind:
            values["hwnd"] = None
        with self._db.transaction() as connection:
            result = connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(values))
            return bool(result.rowcount)

    def bots_to_resume(self) -> list[BotCapture]:
        """Bots that should capture (and are not paused) and know which window they want."""
        with self._db.reading() as session:
            rows = session.execute(
                _BOT_CAPTURE.where(
                    BOTS.c.capturing.is_(True), BOTS.c.paused.is_(False), BOTS.c.stem.is_not(None)
                )
            ).all()
        return [BotCapture.from_row(row) for row in rows]

    def bot_capture(self, bot: str) -> BotCapture | None:
        """What the bot wants of capture; None for an unknown bot."""
        with self._db.reading() as session:
            row = session.execute(_BOT_CAPTURE.where(BOTS.c.bot == bot)).first()
        return BotCapture.from_row(row) if row is not None else None

    def rename_bot(self, bot: str, name: str) -> bool:
        with self._db.transaction() as connection:
            result = connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(name=name))
            return bool(result.rowcount)

    def close_positions(self, bot: str, at: datetime) -> list[RecordedTrade]:
        """Sell every open position of the bot at the last price it read (`manual close`),
        in one transaction; NoOpenPosition when it holds none."""
        with self._db.transaction() as connection:
            tickers = (
                connection.execute(
                    select(POSITIONS.c.ticker)
                    .where(POSITIONS.c.bot == bot, POSITIONS.c.is_long.is_(True))
                    .order_by(POSITIONS.c.ticker)
                )
                .scalars()
                .all()
            )
            if not tickers:
                raise NoOpenPosition(f"bot {bot!r} holds no open position")
            rows = _working_set(CoreStatements(connection))
            rows.lock_bots({bot: None})
            rows.load_positions((bot, ticker) for ticker in tickers)
            closed = []
            for ticker in tickers:
                position_row = rows.position((bot, ticker))
                position_row.position, trade = close_position(position_row.position, at)
                meta = {"source": "close"}
                closed.append(
                    RecordedTrade(
                        _write_trade(rows, rows.bot(bot), position_row, trade, meta), trade
                    )
                )
            rows.write_back()
            return closed

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

    def __init__(
        self, statements: Statements, insert_or_nothing: Any, cache: RowCache | None = None
    ) -> None:
        self.statements = statements
        self._insert_or_nothing = insert_or_nothing
        self._cache = cache
        self._bots: dict[str, BotRow] = {}
        self._positions: dict[PositionKey, PositionRow] = {}
        self._changed_positions: set[PositionKey] = set()
        # Per ticker: P&L, wins and losses this transaction adds.
        self._totals: dict[str, tuple[Decimal, int, int]] = {}

    @property
    def connection(self) -> Connection:
        return self.statements.connection

    def lock_bots(self, hwnds: dict[str, int | None]) -> None:
        """Load (creating if missing) and lock these bots; a known hwnd is remembered."""
        wanted = sorted(set(hwnds) - self._bots.keys())
        if self._cache is not None and wanted:
            self._bots.update(self._cache.take(self._cache.bots, wanted))
            wanted = [key for key in wanted if key not in self._bots]
        if wanted:
            found = self._bot_rows(wanted)
            missing = [key for key in wanted if key not in {row.bot for row in found}]
            if missing:
                self._create(
                    BOTS, [{"bot": key, "hwnd": hwnds[key], "meta": {}} for key in missing]
                )
                found += self._bot_rows(missing)
            for row in found:
                self._bots[row.bot] = row
                if self._cache is not None:
                    self._cache.bots[row.bot] = row
        for key, hwnd in hwnds.items():
            if hwnd is not None:
                self._bots[key].hwnd = hwnd

    def bot(self, key: str) -> BotRow:
        return self._bots[key]

    def load_positions(self, keys: Iterable[PositionKey]) -> None:
        """Load and lock the positions that exist among `keys` (missing ones come on demand)."""
        wanted = sorted(set(keys) - self._positions.keys())
        if self._cache is not None and wanted:
            self._positions.update(self._cache.take(self._cache.positions, wanted))
            wanted = [key for key in wanted if key not in self._positions]
        if len(wanted) == 1:
            rows = self._rows(_POSITION_ONE, {"bot": wanted[0][0], "ticker": wanted[0][1]})
        elif wanted:
            parameters = {}
            for index, (bot, ticker) in enumerate(wanted):
                parameters[f"b{index}"], parameters[f"t{index}"] = bot, ticker
            rows = self._rows(_positions_by_key(len(wanted)), parameters)
        else:
            return
        for row in rows:
            self._keep_position(PositionRow.from_row(row))

    def _keep_position(self, row: PositionRow) -> None:
        key = (row.position.bot, row.position.ticker)
        self._positions[key] = row
        if self._cache is not None:
            self._cache.positions[key] = row

    def position(self, key: PositionKey) -> PositionRow:
        """The position for (bot, ticker), created flat if this is its first signal."""
        if key not in self._positions and self._cache is not None:
            self._positions.update(self._cache.take(self._cache.positions, [key]))
        if key not in self._positions:
            bot, ticker = key
            self._create(POSITIONS, [{"bot": bot, "ticker": ticker, **_NEW_POSITION}])
            (row,) = self._rows(_POSITION_ONE, {"bot": bot, "ticker": ticker})
            self._keep_position(PositionRow.from_row(row))
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
            self.statements.execute(_BOT_WRITE, [row.parameters() for row in self._bots.values()])
        if self._changed_positions:
            changed = [self._positions[key] for key in self._changed_positions]
            self.statements.execute(_POSITION_WRITE, [row.parameters() for row in changed])
        for ticker in sorted(self._totals):
            self._write_total(ticker, *self._totals[ticker])

    def _write_total(self, ticker: str, profit: Decimal, wins: int, losses: int) -> None:
        found = self._rows(_TOTAL_ONE, {"ticker": ticker})
        if not found:
            zero = {"ticker": ticker, "total_pnl": Decimal(0), "wins": 0, "losses": 0}
            self._create(TICKER_TOTALS, [zero])
            found = self._rows(_TOTAL_ONE, {"ticker": ticker})
        (total,) = found
        self.statements.execute(
            _TOTAL_WRITE,
            {
                "key_ticker": ticker,
                "total_pnl": total["total_pnl"] + profit,
                "wins": total["wins"] + wins,
                "losses": total["losses"] + losses,
            },
        )

    def _bot_rows(self, keys: list[str]) -> list[BotRow]:
        if len(keys) == 1:
            rows = self._rows(_BOT_ONE, {"key": keys[0]})
        else:
            parameters = {f"k{index}": key for index, key in enumerate(keys)}
            rows = self._rows(_bots_by_key(len(keys)), parameters)
        return [BotRow.from_row(row) for row in rows]

    def _rows(self, statement: Any, parameters: dict[str, Any] | None = None) -> list[RowMapping]:
        return list(self.connection.execute(statement, parameters).mappings())

    def _create(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # Insert-or-nothing: two processes creating the same row at once end up with one.
        self.connection.execute(self._insert_or_nothing(table).on_conflict_do_nothing(), rows)


def _first_of_each_key(
    batch: Sequence[tuple[ObservationInput, bool]], answered: dict[str, StoredObservation]
) -> tuple[list[int], dict[str, int]]:
    """Which observations to store (by index), and each new key's first observation.

    One without a key is always stored; one with a key only if the key is new and
    it is the key's first in the batch (the others are retries of it).
    """
    first_with_key: dict[str, int] = {}
    fresh: list[int] = []
    for index, (observation, _) in enumerate(batch):
        key = observation.idempotency_key
        if key is not None:
            if key in answered or key in first_with_key:
                continue
            first_with_key[key] = index
        fresh.append(index)
    return fresh, first_with_key


def _earlier_answers(
    connection: Connection, batch: Sequence[tuple[ObservationInput, bool]]
) -> dict[str, StoredObservation]:
    """What was stored for the batch's idempotency keys that were seen before."""
    keys = {observation.idempotency_key for observation, _ in batch} - {None}
    if not keys:
        return {}
    found = connection.execute(
        select(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.key.in_(sorted(keys)))
    ).all()
    trade_ids = [row.trade_id for row in found if row.trade_id is not None]
    trades = {
        row.id: TradeEvent(
            row.bot, row.ticker, Side(row.side), row.price, row.ts, Reason(row.reason), row.profit
        )
        for row in connection.execute(select(TRADES).where(TRADES.c.id.in_(trade_ids)))
    }
    observation_ids = [row.observation_id for row in found]
    seen_at = {
        row.id: row.ts
        for row in connection.execute(
            select(OBSERVATIONS.c.id, OBSERVATIONS.c.ts).where(
                OBSERVATIONS.c.id.in_(observation_ids)
            )
        )
    }
    return {
        row.key: StoredObservation(
            row.observation_id,
            row.record_id,
            trades.get(row.trade_id) if row.trade_id is not None else None,
            row.trade_id if row.trade_id in trades else None,
            replayed=True,
            image_path=row.image_path,
            at=seen_at.get(row.observation_id),
        )
        for row in found
    }


def _remember_keys(statements: Statements, stored: dict[str, StoredObservation | None]) -> None:
    now = utcnow()
    rows = [
        {
            "key": key,
            "created_at": now,
            "observation_id": result.observation_id,
            "record_id": result.record_id,
            "trade_id": result.trade_id,
            "image_path": result.image_path,
        }
        for key, result in stored.items()
        if result is not None
    ]
    statements.execute(_INSERT_KEYS, rows)


def _known_hwnds(observations: Iterable[ObservationInput]) -> dict[str, int | None]:
    """Each bot with the window it was last seen in (an upload names none)."""
    hwnds: dict[str, int | None] = {}
    for observation in observations:
        if observation.hwnd is not None or observation.bot not in hwnds:
            hwnds[observation.bot] = observation.hwnd
    return hwnds


def _working_set(statements: Statements, cache: RowCache | None = None) -> _WorkingSet:
    dialect = statements.connection.dialect.name
    return _WorkingSet(statements, pg_insert if dialect == "postgresql" else sqlite_insert, cache)


# -- the writer's own connection and the rows it keeps ------------------------------------

# Rows kept between transactions, at most (bots and positions together): beyond, all go.
MAX_CACHED_ROWS = 10_000


@dataclass
class RowCache:
    """Bots and positions as the last transaction on this connection left them.

    Valid only while no other connection has written the database: SQLite's
    `PRAGMA data_version` changes for this connection exactly when another one
    commits, and is read once the transaction holds the write lock, so nothing
    can change it until the commit. A transaction that fails clears it (its rows
    were changed in memory and not stored).
    """

    bots: dict[str, BotRow] = field(default_factory=dict)
    positions: dict[PositionKey, PositionRow] = field(default_factory=dict)
    data_version: int | None = None

    @staticmethod
    def take(rows: dict[Any, Any], keys: Iterable[Any]) -> dict[Any, Any]:
        return {key: rows[key] for key in keys if key in rows}

    def clear(self) -> None:
        self.bots.clear()
        self.positions.clear()
        self.data_version = None

    def validate(self, connection: Connection) -> None:
        """Forget every row if another connection wrote since (or there are too many)."""
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in a transaction has its driver's"
        (version,) = driver.execute("PRAGMA data_version").fetchone()
        if version != self.data_version or len(self.bots) + len(self.positions) > MAX_CACHED_ROWS:
            self.clear()
            self.data_version = version


class _Unpinned:
    """Any pooled connection, no rows kept: every transaction but the writer's."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @contextmanager
    def transaction(self) -> Iterator[tuple[Statements, RowCache | None]]:
        with self._db.transaction() as connection:
            yield CoreStatements(connection), None


class Writes:
    """One thread's own connection, kept open, and (on SQLite) the rows it read there.

    On SQLite, where one process writes at a time, the writer thread keeps the bots
    and positions it stored and reads them again only when another connection has
    written since (`RowCache`), and runs its writes on the driver's cursor
    (`SqliteStatements`). On PostgreSQL rows are read and locked in every
    transaction (several processes may write at once), on a pooled connection.
    Not thread-safe: one thread uses it, then `close`s it.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._connection: Connection | None = None
        self._cache = RowCache()
        self._statements = SqliteStatements()

    @contextmanager
    def transaction(self) -> Iterator[tuple[Statements, RowCache | None]]:
        if not self._db.is_sqlite:
            with _Unpinned(self._db).transaction() as pooled:
                yield pooled
            return
        if self._connection is None or self._connection.invalidated:
            self.close()
            self._connection = self._db.engine.connect()
        try:
            with self._connection.begin():
                self._cache.validate(self._connection)
                yield self._statements.bind(self._connection), self._cache
        except BaseException:
            self._cache.clear()
            raise

    def close(self) -> None:
        self._cache.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


# -- the steps of one observation or order -------------------------------------------


def _trade_on(
    rows: _WorkingSet, bot: BotRow, observation: ObservationInput
) -> tuple[TradeEvent | None, int | None]:
    if observation.ticker is None or observation.price is None:
        return None, None
    key = SignalKey(observation.ticker, observation.price, observation.trend)
    if not passes_gate(SignalKey.from_json(bot.last_signal), key):
        logger.debug("bot=%s ticker=%s unchanged signal ignored", bot.bot, key.ticker)
        return None, None
    bot.last_signal = key.to_json()
    signal = Signal(bot.bot, key.ticker, key.price, key.trend, observation.at)
    position_row = rows.position((bot.bot, key.ticker))
    rules = bot.trading_rules()
    position_row.position, trade = decide(position_row.position, signal, rules)
    if trade is None:
        return None, None
    meta = {"trend": observation.trend.value, "name": observation.name}
    if observation.image_path:
        meta["image_path"] = observation.image_path
    return trade, _write_trade(rows, bot, position_row, trade, meta)


def _write_trade(
    rows: _WorkingSet,
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
        found = statements.connection.execute(_RECORD_META, {"id": record_id}).one_or_none()
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
        _RECORD_SELL,
        {
            "key_id": record_id,
            "sell_price": trade.price,
            "sell_time": trade.at,
            "meta": {**(found.meta or {}), **sold},
        },
    )
    assert record_id is not None
    return record_id


@dataclass(frozen=True)
class _BindingPlan:
    bot: str
    name: str | None  # a name to give it: a new bot, or one that knew no window
    exists: bool


def _plan_binding(
    connection: Connection,
    hwnd: int,
    identity: WindowIdentity,
    busy: Collection[str],
    bot: str | None,
    create: bool,
) -> _BindingPlan:
    if bot is None:
        bot = choose_bot(_candidates(connection, hwnd, identity), hwnd, identity, busy)
    row = None
    if bot is not None:
        row = connection.execute(select(BOTS.c.name, BOTS.c.stem).where(BOTS.c.bot == bot)).first()
        if row is None and not create:
            raise UnknownBot(bot)
    name = None
    if row is None or row.stem is None or row.name is None:
        name = unique_name(identity.default_name(), _names(connection))
    if bot is None:
        bot = new_bot_key(name or identity.default_name(), _keys(connection))
    return _BindingPlan(bot, name, row is not None)


def _candidates(connection: Connection, hwnd: int, identity: WindowIdentity) -> list[BotCandidate]:
    """The bots a window could bind to: the one bound to it, those with its stem."""
    rows = connection.execute(
        select(BOTS.c.bot, BOTS.c.process, BOTS.c.stem, BOTS.c.hwnd, BOTS.c.updated_at).where(
            or_(BOTS.c.hwnd == hwnd, BOTS.c.stem == identity.stem)
        )
    )
    return [BotCandidate(row.bot, row.process, row.stem, row.hwnd, row.updated_at) for row in rows]


def _names(connection: Connection) -> set[str]:
    return {name for name in connection.execute(select(BOTS.c.name)).scalars() if name}


def _keys(connection: Connection) -> set[str]:
    return set(connection.execute(select(BOTS.c.bot)).scalars())


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


__all__ = [
    "AmbiguousPosition",
    "BotCapture",
    "BotRow",
    "BoundBot",
    "CaptureWish",
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
