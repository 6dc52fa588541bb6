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
from sqlalchemy import BigInteger, cast, create_engine, event, func, select

from tests.images import image_bytes, png_declaring
from tests.support.terminal import run_on_terminal
from tests.test_cli import run_cli
from trade_analysis.db import import_original as import_module
from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.storage import FileStore

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


def record_with_image(image_path: str) -> tuple[str, tuple[Any, ...]]:
    return (
        "INSERT INTO records (ts, image_path, ticker, price, trend) VALUES (?,?,?,?,?)",
        ("2026-03-04T10:00:00Z", image_path, "AAPL", "1", "up"),
    )


def test_only_real_images_within_the_caps_are_copied_under_a_suffix_their_content_has(
    tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "original"
    uploads = folder / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "chart-1.png").write_bytes(image_bytes())
    (uploads / "evil.html").write_text("<script>alert(1)</script>")
    (uploads / "really-a-png.jpg").write_bytes(image_bytes(".png", seed=4))
    (uploads / "huge.png").write_bytes(png_declaring(50000, 50000))
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes(seed=5))
    (uploads / "link.png").symlink_to(secret)
    shots = folder / "screenshots" / "hwnd_7"
    shots.mkdir(parents=True)
    (shots / "frame.png").write_bytes(image_bytes(seed=6))
    (shots / "results.csv").write_text("timestamp,image_path\n")
    (shots / "page.png").write_text("<html></html>")
    (shots / "linked.png").symlink_to(secret)
    names = ["uploads/evil.html", "uploads/really-a-png.jpg", "uploads/huge.png", "link.png"]
    build_original(folder / "backend_data.db", [record_with_image(name) for name in names])
    data_dir = tmp_path / "data"
    result = import_cli(folder, data_dir, database_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Three uploads and two screenshots refused; the uploads copied are counted.
    assert (report["images_copied"], report["images_refused"]) == (2, 5)
    refused = " ".join(report["refused"])
    assert "evil.html: only PNG, JPEG and WebP" in refused
    assert "50000 x 50000 pixels" in refused and "link.png: a symbolic link" in refused
    assert "page.png: only PNG" in refused and "linked.png: a symbolic link" in refused
    stored = sorted(path.name for path in (data_dir / "uploads").iterdir())
    assert [Path(name).suffix for name in stored] == [".png", ".png"]
    assert sorted(path.read_bytes() for path in (data_dir / "uploads").iterdir()) == sorted(
        [image_bytes(), image_bytes(".png", seed=4)]
    )
    copied = sorted(path.name for path in (data_dir / "screenshots" / "hwnd_7").iterdir())
    assert copied == ["frame.png", "results.csv"]
    assert report["imported"]["records"] == 3 + len(names)  # rows stay; refused images do not
    engine = create_engine(database_url)
    with engine.connect() as connection:
        paths = connection.execute(select(models.Record.image_path)).scalars().all()
    engine.dispose()
    assert sorted(p for p in paths if p) == sorted(f"uploads/{name}" for name in stored)


@pytest.mark.parametrize(
    ("extra", "rejected"),
    [
        (
            [
                (
                    "INSERT INTO records (id, ts, price, trend, meta) VALUES (?,?,?,?,?)",
                    (90 + n, "2026-03-02T14:31:00Z", "1.0", "up", meta),
                )
                for n, meta in enumerate(
                    ['{"x": NaN}', '{"x": Infinity}', '{"x": [-Infinity]}', '{"x": 1e999}']
                )
            ]
            + [
                (
                    "INSERT INTO trades (id, ticker, direction, price, profit, ts) "
                    "VALUES (?,?,?,?,?,?)",
                    (80, "AAPL", "sell", 10.0, float("inf"), "2026-03-02T14:31:00Z"),
                ),
                (
                    "INSERT INTO trades (id, ticker, direction, price, ts) VALUES (?,?,?,?,?)",
                    (81, "AAPL", "buy", "NaN", "2026-03-02T14:31:00Z"),
                ),
            ],
            "6 row(s) rejected (records 4, trades 2)",
        ),
        (
            [
                (
                    "INSERT INTO records (id, ts, price, trend) VALUES (?,?,?,?)",
                    (95, 2**62, "1.0", "up"),
                ),
                (
                    "INSERT INTO records (id, ts, name, price, trend) VALUES (?,?,?,?,?)",
                    (96, "2026-03-02T14:31:00Z", "a\x00b", "1.0", "up"),
                ),
                ("INSERT INTO bots (hwnd, meta) VALUES (?,?)", (5, b"\xff\xfe")),
            ],
            "3 row(s) rejected (bots 1, records 2)",
        ),
    ],
    ids=["nan-and-infinity", "values-that-crashed"],
)
def test_bad_values_are_rejected_row_by_row_counted_and_nothing_is_imported(
    original: Path,
    tmp_path: Path,
    database_url: str,
    extra: list[tuple[str, tuple[Any, ...]]],
    rejected: str,
) -> None:
    (original / "backend_data.db").unlink()
    build_original(original / "backend_data.db", extra)
    data_dir = tmp_path / "data"
    result = import_cli(original, data_dir, database_url)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert f"nothing imported: {rejected}" in result.stderr
    assert counts(database_url) == dict.fromkeys(
        ("records", "trades", "bots", "observations", "positions"), 0
    )
    assert not list((data_dir / "uploads").glob("*")) and not (data_dir / "screenshots").exists()


def test_a_missing_file_creates_no_data_folder(tmp_path: Path) -> None:
    result = run_cli("import-original", "nope.db", env={"DATABASE_URL": ""}, cwd=tmp_path)
    assert result.returncode == 2 and "nope.db: no such file" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_rows_go_in_by_batches_one_statement_each(tmp_path: Path, database_url: str) -> None:
    many = 2 * import_module.BATCH + 7
    rows = [
        (
            "INSERT INTO observations (ts, hwnd, ticker, price, trend) VALUES (?,?,?,?,?)",
            ("2026-03-02T14:30:00Z", 4194311, "AAPL", f"{1 + n}", "up"),
        )
        for n in range(many)
    ]
    source = build_original(tmp_path / "backend_data.db", rows)
    upgrade(database_url)
    database = Database(database_url)
    inserts: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OBSERVATIONS"):
            inserts.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        report = import_module.import_original(
            import_module.Sources(source), database, FileStore(tmp_path / "up"), tmp_path / "s"
        )
    finally:
        database.dispose()
    assert report.imported["observations"] == many + 1
    batches = -(-(many + 1) // import_module.BATCH)
    assert len(inserts) == batches and all("RETURNING" in s.upper() for s in inserts)
    # Each source row is remembered with the id its own row got.
    engine = create_engine(database_url)
    imports, observations = models.OriginalImport.__table__, models.Observation.__table__
    with engine.connect() as connection:
        pairs = connection.execute(
            select(imports.c.source_id, observations.c.price)
            .join(observations, observations.c.id == cast(imports.c.target_id, BigInteger))
            .where(imports.c.source_table == "observations", imports.c.source_id > 1)
        ).all()
    engine.dispose()
    assert len(pairs) == many
    assert all(price == Decimal(source_id - 1) for source_id, price in pairs)


def test_a_terminal_shows_rows_and_images_as_they_are_imported(
    original: Path, tmp_path: Path, database_url: str
) -> None:
    shown = run_on_terminal(
        "import-original",
        str(original / "backend_data.db"),
        "--uploads",
        str(original / "uploads"),
        "--data-dir",
        str(tmp_path / "data"),
        env={"DATABASE_URL": database_url},
    )
    assert "records rows" in shown and "3/3" in shown and "images copied" in shown
