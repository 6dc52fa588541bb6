"""How the ledger's hot writes reach the database: through SQLAlchemy, or straight to SQLite.

The ledger's write path runs a handful of fixed INSERT and UPDATE statements
per group of observations. Through `Connection.execute` each one pays for
SQLAlchemy's execution context (events, parameter processing, a result
object), which on SQLite cost more than the statement itself. `SqliteStatements`
compiles each statement once with SQLAlchemy, keeps its SQL and its columns'
own bind processors, and runs it on the connection's DB-API cursor inside the
same transaction: the same SQL and the same stored values, without the
per-call machinery. PostgreSQL keeps SQLAlchemy (`CoreStatements`), where
several processes write at once and the driver adapts its own types.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert, ReturningInsert, UpdateBase

Row = Mapping[str, Any]


class Statements(Protocol):
    """Runs the ledger's write statements in the transaction of one connection."""

    @property
    def connection(self) -> Connection: ...

    def execute(self, statement: UpdateBase, parameters: Row | Sequence[Row]) -> None:
        """Run an INSERT or UPDATE once, or once per row of a list (none for an empty one)."""

    def insert_ids(self, table: Table, rows: Sequence[Row]) -> list[int]:
        """Insert rows; their new ids in the rows' order."""


@dataclass(frozen=True)
class CoreStatements:
    """Through SQLAlchemy: any database."""

    connection: Connection

    def execute(self, statement: UpdateBase, parameters: Row | Sequence[Row]) -> None:
        if parameters:  # an empty list would run the statement once, with no values
            self.connection.execute(statement, parameters)

    def insert_ids(self, table: Table, rows: Sequence[Row]) -> list[int]:
        if not rows:
            return []
        if len(rows) == 1:
            # One row needs no RETURNING machinery: the driver reports the new key.
            result = self.connection.execute(_insert(table), rows[0])
            (new_id,) = result.inserted_primary_key or (None,)
            assert new_id is not None, f"{table.name} insert reported no id"
            return [int(new_id)]
        return list(self.connection.execute(_insert_returning_ids(table), rows).scalars())


# Built once per table: building a statement costs more than running it on this path.
@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _insert_returning_ids(table: Table) -> ReturningInsert[Any]:
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Processor, ...]

    def values(self, row: Row) -> tuple[Any, ...]:
        # Every processor sees None too, as through SQLAlchemy (JSON stores it as 'null').
        return tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(self.names, self.processors, strict=True)
        )


class SqliteStatements:
    """On SQLite's DB-API cursor, each statement compiled once (for one connection).

    Statements are remembered by identity: pass ones built once (module constants),
    never one built per call, or every call would compile and keep another.
    """

    def __init__(self) -> None:
        self._compiled: dict[tuple[UpdateBase, frozenset[str] | None], _Compiled] = {}
        self._connection: Connection | None = None
        self._cursor: Any = None

    def bind(self, connection: Connection) -> SqliteStatements:
        """Use `connection` (in a transaction) from now on; returns itself."""
        assert connection.dialect.name == "sqlite", "SqliteStatements runs on SQLite only"
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in a transaction has its driver's"
        self._connection, self._cursor = connection, driver.cursor()
        return self

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "bind a connection first"
        return self._connection

    def execute(self, statement: UpdateBase, parameters: Row | Sequence[Row]) -> None:
        rows = [parameters] if isinstance(parameters, Mapping) else parameters
        if not rows:
            return
        # An INSERT names the columns its rows give (the rest keep their defaults).
        columns = frozenset(rows[0]) if isinstance(statement, Insert) else None
        compiled = self._compile(statement, columns)
        self._run(compiled, [compiled.values(row) for row in rows])

    def insert_ids(self, table: Table, rows: Sequence[Row]) -> list[int]:
        statement = _insert(table)
        ids = []
        # One statement per row: SQLite does not promise RETURNING's order for several.
        for row in rows:
            compiled = self._compile(statement, frozenset(row))
            self._run(compiled, [compiled.values(row)])
            assert self._cursor.lastrowid is not None, f"{table.name} insert reported no id"
            ids.append(int(self._cursor.lastrowid))
        return ids

    def _run(self, compiled: _Compiled, values: list[tuple[Any, ...]]) -> None:
        """Run once per row of values; the driver's errors raised as SQLAlchemy raises them
        (`OperationalError` for a locked or full database, `IntegrityError`...), which is
        what callers catch and map to 503."""
        try:
            if len(values) == 1:
                self._cursor.execute(compiled.sql, values[0])
            else:
                self._cursor.executemany(compiled.sql, values)
        except Exception as error:
            dialect = self.connection.dialect
            raise DBAPIError.instance(
                compiled.sql,
                values,
                error,
                dialect.loaded_dbapi.Error,
                dialect=dialect,
                hide_parameters=True,
            ) from error

    def _compile(self, statement: UpdateBase, columns: frozenset[str] | None) -> _Compiled:
        key = (statement, columns)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(statement, columns, self.connection)
        return found


def _compile(
    statement: UpdateBase, columns: frozenset[str] | None, connection: Connection
) -> _Compiled:
    dialect = connection.dialect
    compiled = statement.compile(
        dialect=dialect, column_keys=sorted(columns) if columns is not None else None
    )
    # A column left out whose default is computed in Python would be stored as NULL here.
    prefetched = [*compiled.insert_prefetch, *compiled.update_prefetch]
    if prefetched:
        missing = ", ".join(column.name for column in prefetched)
        raise ValueError(f"give {missing} explicitly: their Python-side defaults would not run")
    names = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return _Compiled(compiled.string, names, processors)
