"""The ledger's writes on SQLite's cursor store exactly what SQLAlchemy would have stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.db.statements import CoreStatements, SqliteStatements, Statements

RECORDS: Table = models.Record.__table__  # type: ignore[assignment]
POSITIONS: Table = models.Position.__table__  # type: ignore[assignment]

SELL = (
    update(RECORDS)
    .where(RECORDS.c.id == bindparam("key_id"))
    .values({name: bindparam(name) for name in ("sell_price", "sell_time", "meta")})
)
POSITION_STATE = (
    update(POSITIONS)
    .where(POSITIONS.c.bot == bindparam("key_bot"), POSITIONS.c.ticker == bindparam("key_ticker"))
    .values({name: bindparam(name) for name in ("is_long", "entry_price", "entry_time")})
)


def record(**changes: Any) -> dict[str, Any]:
    """A history record with a value of every kind the ledger stores."""
    return {
        "ts": datetime(2026, 3, 4, 15, 30, 1, 250000, tzinfo=timezone(timedelta(hours=-5))),
        "kind": "observation",
        "bot": "tsla-robinhood",
        "image_path": None,
        "name": "TSLA · Robinhood",
        "ticker": "TSLA",
        "price": Decimal("189.2300"),
        "price_text": "$189.23",
        "trend": "up",
        "meta": {"reading": {"confidence": 0.8, "reason": "rising"}, "note": None},
    } | changes


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def connection(database: Database) -> Iterator[Connection]:
    with database.transaction() as connection:
        yield connection


def stored_rows(database: Database, table: str) -> list[tuple[Any, ...]]:
    """The rows as SQLite holds them (text, numbers), not as SQLAlchemy reads them back."""
    path = database.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as raw:
        return raw.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def without_ids(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row[1:] for row in rows]


def test_inserted_rows_are_stored_as_sqlalchemy_stores_them(
    database: Database, connection: Connection
) -> None:
    rows = [record(), record(price=None, price_text=None, meta={}, name="NVDA ✓")]
    core_ids = CoreStatements(connection).insert_ids(RECORDS, rows)
    direct_ids = SqliteStatements().bind(connection).insert_ids(RECORDS, rows)
    connection.commit()

    stored = without_ids(stored_rows(database, "records"))
    assert stored[:2] == stored[2:]
    assert stored[0][0] == "2026-03-04 20:30:01.250000"  # in UTC, as every row is kept
    assert direct_ids == [core_ids[-1] + 1, core_ids[-1] + 2]


def test_updated_rows_are_stored_as_sqlalchemy_stores_them(
    database: Database, connection: Connection
) -> None:
    first, second = CoreStatements(connection).insert_ids(RECORDS, [record(), record()])
    sold = {"sell_price": Decimal("190.5"), "sell_time": datetime(2026, 3, 5, tzinfo=UTC)}
    CoreStatements(connection).execute(SELL, sold | {"key_id": first, "meta": {"sold": True}})
    SqliteStatements().bind(connection).execute(
        SELL, [sold | {"key_id": second, "meta": {"sold": True}}]
    )
    connection.commit()

    kept_first, kept_second = without_ids(stored_rows(database, "records"))
    assert kept_first == kept_second
    assert "190.5" in kept_first and "2026-03-05 00:00:00.000000" in kept_first


def test_booleans_and_empty_values_are_stored_as_sqlalchemy_stores_them(
    database: Database, connection: Connection
) -> None:
    for bot in ("core", "direct"):
        connection.execute(POSITIONS.insert(), {"bot": bot, "ticker": "AAPL"})
    state = {"key_ticker": "AAPL", "is_long": True, "entry_price": None, "entry_time": None}
    CoreStatements(connection).execute(POSITION_STATE, [state | {"key_bot": "core"}])
    SqliteStatements().bind(connection).execute(POSITION_STATE, [state | {"key_bot": "direct"}])
    connection.commit()

    core, direct = stored_rows(database, "positions")
    assert core[1:] == direct[1:]
    assert core[0] == "core" and direct[0] == "direct"


def test_ids_come_back_in_the_order_of_the_rows(database: Database) -> None:
    names = [f"chart {index}" for index in range(5)]
    with database.transaction() as connection:
        statements = SqliteStatements().bind(connection)
        ids = statements.insert_ids(RECORDS, [record(name=name) for name in names])
        by_id = {
            row.id: row.name for row in connection.execute(select(RECORDS.c.id, RECORDS.c.name))
        }
    assert [by_id[new_id] for new_id in ids] == names


def test_a_column_whose_default_is_computed_in_python_must_be_given(
    connection: Connection,
) -> None:
    without_meta = {key: value for key, value in record().items() if key != "meta"}
    with pytest.raises(ValueError, match="give meta explicitly"):
        SqliteStatements().bind(connection).insert_ids(RECORDS, [without_meta])


@pytest.mark.parametrize("kind", ["core", "direct"])
def test_an_empty_list_writes_nothing(kind: str, connection: Connection) -> None:
    statements: Statements = (
        CoreStatements(connection) if kind == "core" else SqliteStatements().bind(connection)
    )
    statements.execute(RECORDS.insert(), [])
    assert statements.insert_ids(RECORDS, []) == []
    assert connection.execute(select(func.count()).select_from(RECORDS)).scalar_one() == 0


def test_the_drivers_errors_arrive_as_sqlalchemys(connection: Connection) -> None:
    """Callers map SQLAlchemy's OperationalError to 503 and retry on it; the driver's own
    exceptions would bypass both."""
    statements = SqliteStatements().bind(connection)
    with pytest.raises(IntegrityError, match="NOT NULL"):
        statements.insert_ids(RECORDS, [record(kind=None)])
    nowhere = Table(
        "nowhere", MetaData(), Column("id", Integer, primary_key=True), Column("x", String)
    )
    with pytest.raises(OperationalError, match="no such table"):
        statements.execute(nowhere.insert(), [{"x": "a"}, {"x": "b"}])
