"""Engines and sessions, built from settings; SQLite tuned for a service (WAL, busy wait)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long the service waits on the database before it gives up, in seconds.

    A stalled or unreachable database then fails requests (503) and lets shutdown
    finish, instead of holding threads, memory and the process forever.
    """

    connect: float = 5
    statement: float = 30
    lock: float = 10


def _tune_sqlite(engine: Engine, timeouts: DatabaseTimeouts) -> None:
    busy_ms = int(timeouts.lock * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below
        # takes the write lock up front: two writers queue instead of deadlocking.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # SQLite has one lock, the write lock: its busy wait is the lock timeout.
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers take no write lock: WAL lets them run beside the one writer.
        reading = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


_READ_ONLY = "trade_analysis_read_only"


def create_db_engine(url: str, timeouts: DatabaseTimeouts | None = None) -> Engine:
    timeouts = timeouts or DatabaseTimeouts()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": timeouts.lock}
        )
        _tune_sqlite(engine, timeouts)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            # Waiting for a pooled connection is bounded like opening one.
            pool_timeout=timeouts.connect,
            connect_args=_postgres_timeouts(timeouts),
        )
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _postgres_timeouts(timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """libpq's connect timeout (whole seconds, at least 1) and per-session limits."""
    statement_ms = int(timeouts.statement * 1000)
    lock_ms = int(timeouts.lock * 1000)
    return {
        "connect_timeout": max(1, round(timeouts.connect)),
        "options": f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}",
    }


class Database:
    """One engine and its session factory; `session()` and `transaction()` are one transaction."""

    def __init__(self, url: str, timeouts: DatabaseTimeouts | None = None) -> None:
        self.url = url
        self.engine = create_db_engine(url, timeouts)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One write transaction (on SQLite it holds the write lock from its start)."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction on a Core connection, for hot paths that skip the ORM."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction: a consistent view that never waits for writers."""
        with self._readers.begin() as session:
            yield session

    @contextmanager
    def streaming(self) -> Iterator[Connection]:
        """One read transaction whose results arrive in batches (a server-side cursor)."""
        engine = self.engine.execution_options(**{_READ_ONLY: True})
        with engine.connect() as connection, connection.begin():
            yield connection.execution_options(stream_results=True, max_row_buffer=2000)

    def dispose(self) -> None:
        self.engine.dispose()
