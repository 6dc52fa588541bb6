"""Where a transaction runs: any pooled connection, or the writer thread's own, which on
SQLite keeps the rows it read between transactions (`RowCache`) and runs its writes
on the driver's cursor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
)

from trade_analysis.db.session import Database
from trade_analysis.db.statements import CoreStatements, SqliteStatements, Statements
from trade_analysis.trading.rows import BotRow, PositionKey, PositionRow

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


class Unpinned:
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
            with Unpinned(self._db).transaction() as pooled:
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
