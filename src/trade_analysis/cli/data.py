"""The ledger's data out and back: export as CSV, backup and restore the database."""

from __future__ import annotations

import enum
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import URL, make_url

from trade_analysis.cli.common import counting, fail, load_settings
from trade_analysis.config import Settings

if TYPE_CHECKING:
    from trade_analysis.db.archive import Unpacked

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
    from trade_analysis.application.data import history_window
    from trade_analysis.application.errors import InvalidRequest
    from trade_analysis.db import export as exports
    from trade_analysis.db.session import Database
    from trade_analysis.domain import Trend, as_utc

    if trend is not None and trend not in {t.value for t in Trend}:
        fail(f"--trend {trend!r} must be one of up, down, none")
    try:  # the records /history.csv would answer with the same query
        window = history_window(
            days,
            ticker,
            as_utc(start_ts) if start_ts else None,
            as_utc(end_ts) if end_ts else None,
            Trend(trend) if trend else None,
        )
    except InvalidRequest as exc:
        fail(str(exc))
    settings = load_settings(data_dir)
    database = Database(settings.resolved_database_url, settings.database_timeouts)
    try:
        # Written to a file: the rows so far on a terminal (stdout would mix them in).
        with counting("rows written", show=output is not None) as told:
            if kind is ExportKind.trades:
                chunks = exports.trades_csv(database, exports.TradeFilter(limit), told)
            else:
                filters = replace(window, limit=limit, offset=offset)
                chunks = exports.history_csv(database, filters, told)
            if output is None:
                exports.write_all(chunks, sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as stream:
                    exports.write_all(chunks, stream)
    finally:
        database.dispose()


def backup(
    file: Annotated[Path, typer.Argument(help="where to write the backup (a tar file)")],
    data_dir: DataDir = None,
) -> None:
    """Copy the database, uploads and screenshots while the service runs (docs/deploy.md)."""
    from trade_analysis.db import archive

    settings = load_settings(data_dir)
    if file.exists():
        fail(f"{file} exists; choose a new file name")
    if not file.parent.is_dir():
        fail(f"{file.parent}: no such folder")
    backend = _backend(settings)
    with tempfile.TemporaryDirectory(prefix="trade-analysis-backup-") as work:
        database = Path(work) / archive.DATABASE_MEMBERS[backend]
        if backend == "postgresql":
            url, environment = _libpq(settings)
            _pg_tool("pg_dump", "--format=custom", f"--file={database}", url, env=environment)
        else:
            source = _sqlite_path(settings)
            if not source.is_file():
                fail(f"no database at {source}")
            _sqlite_copy(f"file:{source}?mode=ro", database, "backing up")
        counts = archive.write(file, backend, database, _folders(settings))
    typer.echo(
        f"backed up to {file}: the database, {counts['uploads']} upload(s) and "
        f"{counts['screenshots']} screenshot(s)"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="a file `trade-analysis backup` wrote")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="replace an existing database and its files (never a live one)")
    ] = False,
) -> None:
    """Put a backup in place of the database and its files, then migrate.

    Refused while a service runs on the database, whatever the options.
    """
    from trade_analysis.db import archive
    from trade_analysis.db.inuse import DatabaseInUse, held_for_restore

    settings = load_settings(data_dir)
    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        with (
            held_for_restore(settings.resolved_database_url),
            tempfile.TemporaryDirectory(prefix="trade-analysis-restore-") as work,
        ):
            unpacked = archive.unpack(file, Path(work))
            _restore_unpacked(unpacked, settings, force)
    except DatabaseInUse as exc:
        fail(str(exc))
    except archive.BadBackup as exc:
        fail(str(exc))
    typer.echo(f"restored {file}")


def _restore_unpacked(unpacked: Unpacked, settings: Settings, force: bool) -> None:
    from trade_analysis.db import archive
    from trade_analysis.db.migrate import upgrade

    backend = _backend(settings)
    if unpacked.backend is not None and unpacked.backend != backend:
        fail(f"this is a {unpacked.backend} backup and the database is {backend}")
    folders = _folders(settings)
    if not force and unpacked.backend is not None:
        for name, folder in folders.items():
            if folder.is_dir() and any(folder.iterdir()):
                fail(f"{folder} holds {name}; stop the service and pass --force to replace them")
    if backend == "postgresql":
        clean = ["--clean", "--if-exists"] if force else []
        url, environment = _libpq(settings)
        dbname = f"--dbname={url}"
        _pg_tool(
            "pg_restore", "--no-owner", *clean, dbname, str(unpacked.database), env=environment
        )
    else:
        _restore_sqlite(unpacked.database, _sqlite_path(settings), force)
    archive.put_back(unpacked, folders)
    upgrade(settings.resolved_database_url)  # a backup from an older version catches up


def _backend(settings: Settings) -> str:
    name = make_url(settings.resolved_database_url).get_backend_name()
    return "postgresql" if name == "postgresql" else "sqlite"


def _folders(settings: Settings) -> dict[str, Path]:
    return {"uploads": settings.uploads_dir, "screenshots": settings.screenshots_dir}


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
    _sqlite_copy(f"file:{file}?mode=ro", target, "restoring")


def _sqlite_copy(source_uri: str, target: Path, label: str) -> None:
    """SQLite's online backup, a step of pages at a time; its progress on a terminal."""
    with (
        closing(sqlite3.connect(source_uri, uri=True)) as origin,
        closing(sqlite3.connect(target)) as copy,
    ):
        if not sys.stderr.isatty():
            origin.backup(copy, pages=BACKUP_PAGES_PER_STEP)
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn(f"{label} pages"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=Console(stderr=True)) as progress:
            task = progress.add_task(label, total=None)

            def step(status: int, remaining: int, total: int) -> None:
                progress.update(task, total=total, completed=total - remaining)

            origin.backup(copy, pages=BACKUP_PAGES_PER_STEP, progress=step)


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        fail("DATABASE_URL names no database file")
    return Path(database)


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The connection URL without its password, and an environment carrying it.

    A command line is readable by every user of the machine (`ps`, /proc);
    PGPASSWORD reaches only the child process.
    """
    url = make_url(settings.resolved_database_url).set(drivername="postgresql")
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
        # `set(password=None)` would keep it: None there means "unchanged".
        url = URL.create(
            url.drivername,
            username=url.username,
            host=url.host,
            port=url.port,
            database=url.database,
            query=url.query,
        )
    return url.render_as_string(hide_password=False), environment


def _pg_tool(tool: str, *arguments: str, env: dict[str, str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        fail(
            f"this database is PostgreSQL: use {tool} (PostgreSQL's client tools), "
            f"which is not on PATH here, e.g. `{tool} --format=custom ...`"
        )
    completed = subprocess.run([executable, *arguments], check=False, env=env)
    if completed.returncode != 0:
        fail(f"{tool} failed with status {completed.returncode}")
