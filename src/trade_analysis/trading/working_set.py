"""One transaction's working set: each bot and position it needs, read once (locked),
changed in memory as the simulator decides, and written back once at the end.

The statements are prebuilt: building one costs more than running it on this path."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    Table,
    bindparam,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import BindParameter

from trade_analysis.db.statements import Statements
from trade_analysis.domain import Side, utcnow
from trade_analysis.trading.rows import (
    BOT_STATE,
    BOTS,
    IDEMPOTENCY_KEYS,
    OBSERVATIONS,
    POSITION_STATE,
    POSITIONS,
    RECORDS,
    TICKER_TOTALS,
    TRADES,
    BotRow,
    ObservationInput,
    PositionKey,
    PositionRow,
    StoredObservation,
)
from trade_analysis.trading.simulator import (
    Reason,
    TradeEvent,
)
from trade_analysis.trading.writes import RowCache

_BOT_WRITE = (
    update(BOTS)
    .where(BOTS.c.bot == bindparam("key_bot"))
    .values({name: bindparam(name) for name in BOT_STATE})
)
_POSITION_WRITE = (
    update(POSITIONS)
    .where(POSITIONS.c.bot == bindparam("key_bot"), POSITIONS.c.ticker == bindparam("key_ticker"))
    .values({name: bindparam(name) for name in POSITION_STATE})
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
RECORD_META = select(RECORDS.c.meta).where(RECORDS.c.id == bindparam("id"))
RECORD_SELL = (
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


# -- one transaction's rows ------------------------------------------------------


class WorkingSet:
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


@dataclass(frozen=True)
class KeyedBatch:
    """How a batch's idempotency keys sort its observations (each by its index)."""

    # To store: one without a key, or the first with a key never seen before.
    fresh: list[int]
    # Each new key's first observation in the batch.
    first_with_key: dict[str, int]
    # Sent with a key that came first with a different request: neither stored nor replayed.
    reused: set[int]


def sort_by_key(
    batch: Sequence[tuple[ObservationInput, bool]],
    answered: dict[str, StoredObservation],
    hashes: dict[str, str | None],
) -> KeyedBatch:
    """Which observations to store, which are retries and which reuse a key.

    One without a key is always stored; one with a key only if the key is new and
    it is the key's first in the batch (the others are retries of it, unless their
    request differs from the one the key came with first: `hashes` for keys stored
    before this batch).
    """
    keyed = KeyedBatch([], {}, set())
    for index, (observation, _) in enumerate(batch):
        key = observation.idempotency_key
        if key is not None:
            if key in answered or key in keyed.first_with_key:
                first = keyed.first_with_key.get(key)
                known = batch[first][0].request_hash if first is not None else hashes.get(key)
                if _differ(observation.request_hash, known):
                    keyed.reused.add(index)
                continue
            keyed.first_with_key[key] = index
        keyed.fresh.append(index)
    return keyed


def stored_trade(row: Any) -> TradeEvent:
    """A `trades` row as the simulator made it (a row from before costs: 1 unit, no fee)."""
    return TradeEvent(
        row.bot,
        row.ticker,
        Side(row.side),
        row.price,
        row.ts,
        Reason(row.reason),
        row.profit,
        quantity=row.quantity if row.quantity is not None else Decimal(1),
        fill_price=row.fill_price,
        fee=row.fee if row.fee is not None else Decimal(0),
    )


def _differ(request_hash: str | None, known: str | None) -> bool:
    """Whether two requests sent with one key differ (unknown on either side: they don't)."""
    return request_hash is not None and known is not None and request_hash != known


def earlier_answers(
    connection: Connection, batch: Sequence[tuple[ObservationInput, bool]]
) -> tuple[dict[str, StoredObservation], dict[str, str | None]]:
    """What was stored for the batch's idempotency keys that were seen before, and the
    digest of the request each came with."""
    keys = {observation.idempotency_key for observation, _ in batch} - {None}
    if not keys:
        return {}, {}
    found = connection.execute(
        select(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.key.in_(sorted(keys)))
    ).all()
    trade_ids = [row.trade_id for row in found if row.trade_id is not None]
    trades = {
        row.id: stored_trade(row)
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
    answers = {
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
    return answers, {row.key: row.request_hash for row in found}


def remember_keys(
    statements: Statements, stored: dict[str, tuple[StoredObservation | None, str | None]]
) -> None:
    """Keep each new key with what its first observation stored and its request's digest."""
    now = utcnow()
    rows = [
        {
            "key": key,
            "created_at": now,
            "observation_id": result.observation_id,
            "record_id": result.record_id,
            "trade_id": result.trade_id,
            "image_path": result.image_path,
            "request_hash": request_hash,
        }
        for key, (result, request_hash) in stored.items()
        if result is not None
    ]
    statements.execute(_INSERT_KEYS, rows)


def known_hwnds(observations: Iterable[ObservationInput]) -> dict[str, int | None]:
    """Each bot with the window it was last seen in (an upload names none)."""
    hwnds: dict[str, int | None] = {}
    for observation in observations:
        if observation.hwnd is not None or observation.bot not in hwnds:
            hwnds[observation.bot] = observation.hwnd
    return hwnds


def working_set(statements: Statements, cache: RowCache | None = None) -> WorkingSet:
    dialect = statements.connection.dialect.name
    return WorkingSet(statements, pg_insert if dialect == "postgresql" else sqlite_insert, cache)
