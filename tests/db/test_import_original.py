"""`trade-analysis import-original`: the original's SQLite database and images, moved over.

The original database is built here with the original's schema (CREATE TABLE
statements written from ORIGINAL.md: text prices, JSON text `meta`, ISO times
with and without a `Z`), then imported the way users do it, from the command line.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from tests.images import image_bytes
from tests.test_cli import run_cli
from trade_analysis.db import models

ORIGINAL_SCHEMA = """
CREATE TABLE records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT, image_path TEXT, name TEXT, ticker TEXT, price TEXT, trend TEXT,
    buy_price REAL, sell_price REAL, buy_time TEXT, sell_time TEXT, meta TEXT
);
CREATE TABLE trades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticker TEXT, direction TEXT, price REAL, profit REAL, win_reason TEXT, ts TEXT
);
CREATE TABLE bots (
    hwnd INTEGER PRIMARY KEY, name TEXT, ticker TEXT, total_pnl REAL,
    open_direction TEXT, open_price REAL, open_time TEXT, meta TEXT
);
CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT, hwnd INTEGER, name TEXT, ticker TEXT, price TEXT, trend TEXT,
    image_path TEXT, meta TEXT
);
"""

RECORDS = [
    # An upload with its image, a price as text and a naive UTC time.
    (
        "2026-03-02T14:30:00",
        "uploads/chart-1.png",
        "Apple",
        "AAPL",
        "$189.23",
        "up",
        None,
        None,
        None,
        None,
        '{"source": "desk-2"}',
    ),
    # A completed trade record: bought and sold.
    (
        "2026-03-02T14:31:00Z",
        None,
        "Apple",
        "AAPL",
        "189.23",
        "buy",
        189.23,
        190.5,
        "2026-03-02T14:31:00Z",
        "2026-03-02T15:00:00+01:00",
        '{"profit": 1.27}',
    ),
    # An observation without a price.
    ("2026-03-02T14:32:00Z", None, "Feed", None, "", "", None, None, None, None, None),
]
TRADES = [
    ("AAPL", "buy", 189.23, None, "signal", "2026-03-02T14:31:00Z"),
    ("AAPL", "sell", 190.5, 1.27, "win", "2026-03-02T15:00:00Z"),
    ("TSLA", "buy", 250.12, None, "signal", "2026-03-03T10:00:00Z"),
]
BOTS = [
    (
        4194311,
        "Apple",
        "AAPL",
        1.27,
        None,
        None,
        None,
        '{"crop": {"left": 0.05, "right": 0.2, "top": 0, "bottom": 0}}',
    ),
]
OBSERVATIONS = [("2026-03-02T14:30:00Z", 4194311, "Apple", "AAPL", "$189.23", "up", None, "{}")]


def build_original(path: Path, extra: list[tuple[str, tuple[Any, ...]]] | None = None) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(ORIGINAL_SCHEMA)
    connection.executemany(
        "INSERT INTO records (ts, image_path, name, ticker, price, trend, buy_price, sell_price,"
        " buy_time, sell_time, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        RECORDS,
    )
    connection.executemany(
        "INSERT INTO trades (ticker, direction, price, profit, win_reason, ts)"
        " VALUES (?,?,?,?,?,?)",
        TRADES,
    )
    connection.executemany("INSERT INTO bots VALUES (?,?,?,?,?,?,?,?)", BOTS)
    connection.executemany(
        "INSERT INTO observations (ts, hwnd, name, ticker, price, trend, image_path, meta)"
        " VALUES (?,?,?,?,?,?,?,?)",
        OBSERVATIONS,
    )
    for statement, values in extra or []:
        connection.execute(statement, values)
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def original(tmp_path: Path) -> Path:
    folder = tmp_path / "original"
    (folder / "uploads").mkdir(parents=True)
    (folder / "uploads" / "chart-1.png").write_bytes(image_bytes())
    shots = folder / "screenshots" / "hwnd_4194311"
    shots.mkdir(parents=True)
    (shots / "results.csv").write_text("timestamp,image_path,name,ticker,price,trend\n")
    build_original(folder / "backend_data.db")
    return folder


def import_cli(original: Path, data_dir: Path, database_url: str, *extra: str) -> Any:
    return run_cli(
        "import-original",
        str(original / "backend_data.db"),
        "--uploads",
        str(original / "uploads"),
        "--screenshots",
        str(original / "screenshots"),
        "--data-dir",
        str(data_dir),
        *extra,
        env={"DATABASE_URL": database_url},
    )


def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    tables = (models.Record, models.Trade, models.Bot, models.Observation, models.Position)
    with engine.connect() as connection:
        found = {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in tables
        }
    engine.dispose()
    return found


def test_an_original_installation_is_imported_once(
    original: Path, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    first = import_cli(original, data_dir, database_url)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["imported"] == {"records": 3, "trades": 3, "bots": 1, "observations": 1}
    assert (report["images_copied"], report["screenshot_folders"]) == (1, 1)
    assert (data_dir / "screenshots" / "hwnd_4194311" / "results.csv").is_file()

    engine = create_engine(database_url)
    with engine.connect() as connection:
        upload, trade_record, bare = connection.execute(
            select(models.Record.__table__).order_by(models.Record.id)
        ).all()
        assert (upload.price, upload.price_text, upload.kind) == (
            Decimal("189.23"),
            "$189.23",
            "observation",
        )
        assert upload.ts == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
        assert upload.meta == {"source": "desk-2"}
        assert (data_dir / upload.image_path).read_bytes() == image_bytes()
        assert (trade_record.kind, trade_record.trend, trade_record.sell_price) == (
            "trade",
            "buy",
            Decimal("190.5"),
        )
        assert trade_record.sell_time == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
        assert (bare.price, bare.trend) == (None, "none")
        bot = connection.execute(select(models.Bot.__table__)).one()
        assert bot.meta["crop"]["left"] == 0.05 and bot.total_pnl == Decimal("1.27")
        positions = {
            row.ticker: row for row in connection.execute(select(models.Position.__table__))
        }
        assert positions["TSLA"].is_long and positions["TSLA"].entry_price == Decimal("250.12")
        assert not positions["AAPL"].is_long and positions["AAPL"].first_cycle_done
        total = connection.execute(
            select(models.TickerTotal.__table__).where(models.TickerTotal.ticker == "AAPL")
        ).one()
        assert (total.total_pnl, total.wins, total.losses) == (Decimal("1.27"), 1, 0)
    engine.dispose()

    before = counts(database_url)
    second = import_cli(original, data_dir, database_url)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["imported"] == dict.fromkeys(
        ("records", "trades", "bots", "observations"), 0
    )
    assert counts(database_url) == before
    assert len(list((data_dir / "uploads").iterdir())) == 1


@pytest.mark.parametrize(
    ("statement", "values", "named"),
    [
        (
            "INSERT INTO trades (id, ticker, direction, price, ts) VALUES (?,?,?,?,?)",
            (77, "AAPL", "buy", "a lot", "2026-03-02T14:31:00Z"),
            "trades id 77",
        ),
        (
            "INSERT INTO trades (id, ticker, direction, price, ts) VALUES (?,?,?,?,?)",
            (78, "AAPL", "hold", 1.0, "2026-03-02T14:31:00Z"),
            "trades id 78",
        ),
        (
            "INSERT INTO records (id, ts, price, trend, meta) VALUES (?,?,?,?,?)",
            (90, "2026-03-02T14:31:00Z", "1.0", "up", "{not json"),
            "records id 90",
        ),
        (
            "INSERT INTO records (id, ts, price, trend) VALUES (?,?,?,?)",
            (91, "yesterday", "1.0", "up"),
            "records id 91",
        ),
        (
            "INSERT INTO observations (id, ts, hwnd, trend) VALUES (?,?,?,?)",
            (92, "2026-03-02T14:31:00Z", 5, "sideways"),
            "observations id 92",
        ),
    ],
)
def test_a_malformed_row_is_named_and_nothing_is_imported(
    tmp_path: Path, database_url: str, statement: str, values: tuple[Any, ...], named: str
) -> None:
    folder = tmp_path / "original"
    (folder / "uploads").mkdir(parents=True)
    (folder / "uploads" / "chart-1.png").write_bytes(image_bytes())
    (folder / "screenshots").mkdir()
    build_original(folder / "backend_data.db", [(statement, values)])
    data_dir = tmp_path / "data"
    result = import_cli(folder, data_dir, database_url)
    assert result.returncode == 2
    assert named in result.stderr and "nothing imported" in result.stderr
    assert counts(database_url) == dict.fromkeys(
        ("records", "trades", "bots", "observations", "positions"), 0
    )
    assert not (data_dir / "uploads").exists() or not list((data_dir / "uploads").iterdir())


def test_a_file_that_is_not_the_original_database_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY);")
    result = run_cli(
        "import-original",
        str(other),
        "--data-dir",
        str(tmp_path / "data"),
        env={"DATABASE_URL": database_url},
    )
    assert result.returncode == 2 and "has none of records" in result.stderr
    missing = run_cli(
        "import-original", str(tmp_path / "nope.db"), env={"DATABASE_URL": database_url}
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr
