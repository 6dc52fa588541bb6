"""The ledger's data out and back: export as CSV, backup and restore the database."""

from __future__ import annotations

import enum
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from trade_analysis.cli.common import counting, fail, load_settings
from trade_analysis.config import Settings

DataDir = Annotated[
    Path | None, typer.Option(help="database and files (env TRADE_ANALYSIS_DATA_DIR)")
]
# Pages copied per step of SQLite's online backup: the service's writers get the lock
# between steps, so a backup never holds them up for long.
BACKUP_PAGES_PER_STEP = 1024


class ExportKind(enum.StrEnum):
    trades = "trades"
    history = "history"


def export(
    kind: Annotated[ExportKind, typer.Argument(help="trades (the ledger) or history (records)")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write; stdout if omitted")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="trades: the newest N; history: at most N")
    ] = None,
    days: Annotated[float, typer.Option(min=0, help="history: the last N days")] = 7,
    ticker: Annotated[str | None, typer.Option(help="history: one ticker")] = None,
    start_ts: Annotated[
        datetime | None, typer.Option(help="history: from (UTC; instead of --days)")
    ] = None,
    end_ts: Annotated[datetime | None, typer.Option(help="history: until (UTC)")] = None,
    trend: Annotated[str | None, typer.Option(help="history: up, down or none")] = None,
    offset: Annotated[int, typer.Option(min=0, help="history: skip the newest N")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Write trades or history as CSV, like GET /trades.csv and /history.csv."""
    from trade_analysis.db import export as exports
    from trade_analysis.db.queries import HistoryFilter
    from trade_analysis.db.session import Database
    from trade_analysis.domain import Trend, as_utc, utcnow

    if trend is not None and trend not in {t.value for t in Trend}:
        fail(f"--trend {trend!r} must be one of up, down, none")
    settings = load_settings(data_dir)
    database = Database(settings.resolved_database_url, settings.database_timeouts)
    try:
        # Written to a file: the rows so far on a terminal (stdout would mix them in).
        with counting("rows written", show=output is not None) as told:
            if kind is ExportKind.trades:
                chunks = exports.trades_csv(database, exports.TradeFilter(limit), told)
            else:
                since = as_utc(start_ts) if start_ts else utcnow() - timedelta(days=days)
                filters = HistoryFilter(
                    since=since,
                    until=as_utc(end_ts) if end_ts else None,
                    ticker=ticker.upper() if ticker else None,
                    trend=trend,
                    limit=limit,
                    offset=offset,
                )
                chunks = exports.history_csv(database, filters, told)
            if output is None:
                exports.write_all(chunks, sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as stream:
                    exports.write_all(chunks, stream)
    finally:
        database.dispose()


def backup(
    file: Annotated[Path, typer.Argument(help="where to write the copy")],
    data_dir: DataDir = None,
) -> None:
    """Copy the database while the service runs (SQLite: online backup; PostgreSQL: pg_dump)."""
    settings = load_settings(data_dir)
    if file.exists():
        fail(f"{file} exists; choose a new file name")
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "postgresql":
        _pg_tool("pg_dump", "--format=custom", f"--file={file}", _libpq_url(settings))
    else:
        source = _sqlite_path(settings)
        if not source.is_file():
            fail(f"no database at {source}")
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as origin,
            closing(sqlite3.connect(file)) as copy,
        ):
            origin.backup(copy, pages=BACKUP_PAGES_PER_STEP)
    typer.echo(f"backed up to {file}")


def restore(
    file: Annotated[Path, typer.Argument(help="a file `trade-analysis backup` wrote")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="replace an existing database (stop the service first)")
    ] = False,
) -> None:
    """Put a backup in place of the database (the service must not be running), then migrate."""
    from trade_analysis.db.migrate import upgrade

    settings = load_settings(data_dir)
    if not file.is_file():
        fail(f"{file}: no such file")
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "postgresql":
        clean = ["--clean", "--if-exists"] if force else []
        _pg_tool("pg_restore", "--no-owner", *clean, f"--dbname={_libpq_url(settings)}", str(file))
    else:
        _restore_sqlite(file, _sqlite_path(settings), force)
    upgrade(settings.resolved_database_url)  # a backup from an older version catches up
    typer.echo(f"restored {file}")


def _restore_sqlite(file: Path, target: Path, force: bool) -> None:
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as backup_file:
            tables = {row[0] for row in backup_file.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        fail(f"{file} is not a SQLite database: {exc}")
    if "alembic_version" not in tables:
        fail(f"{file} is not a trade-analysis backup (no alembic_version table)")
    if target.exists() and not force:
        fail(f"{target} exists; stop the service and pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    # The backup API writes a consistent copy and replaces the WAL's content too.
    with (
        closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as origin,
        closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        fail("DATABASE_URL names no database file")
    return Path(database)


def _libpq_url(settings: Settings) -> str:
    url = make_url(settings.resolved_database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pg_tool(tool: str, *arguments: str) -> None:
    executable = shutil.which(tool)
    if executable is None:
        fail(
            f"this database is PostgreSQL: use {tool} (PostgreSQL's client tools), "
            f"which is not on PATH here, e.g. `{tool} --format=custom ...`"
        )
    completed = subprocess.run([executable, *arguments], check=False)
    if completed.returncode != 0:
        fail(f"{tool} failed with status {completed.returncode}")
