"""Move an installation of the original backend over: its SQLite database and its images.

`import_original` reads the original's `backend_data.db` (tables `records`,
`trades`, `bots`, `observations`, as ORIGINAL.md describes them) a batch of
rows at a time, checks each row and writes them all in one transaction, or
nothing: every bad row (a value that cannot be read, NaN or Infinity in a
number or in `meta`) is counted and reported with its table and id. Rows go in
by batches, one INSERT ... RETURNING statement per batch. Prices are parsed
from their text (the text is kept on records, as the original's clients read
it), times are made UTC (naive ones were written in UTC), and positions and
running totals are rebuilt from the trades. Each imported row is remembered in
`original_imports`, so a second run adds nothing.

Images are copied only when they are what they claim: a regular file (never a
link), a PNG, JPEG or WebP by its content, within the size and pixel caps, and
stored under a name of ours whose suffix is the content's. Any other is left
behind and counted; its row is imported without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Table, delete, insert, select

from trade_analysis.db import models
from trade_analysis.db.original_rows import CONVERTERS, BadRow, Row, convert_row
from trade_analysis.db.session import Database
from trade_analysis.domain import Side, Trend
from trade_analysis.storage import FileStore, checked_image

logger = logging.getLogger(__name__)

TABLES = ("records", "trades", "bots", "observations")
MAX_ERRORS = 20
# Rows read, checked and inserted at a time: one INSERT ... RETURNING per batch.
BATCH = 500


class ImportFailed(ValueError):
    """Nothing was imported; the message lists the rows that stopped it."""

    def __init__(self, errors: list[BadRow], rejected: Counter[str] | None = None) -> None:
        rejected = rejected or Counter(error.table for error in errors)
        total = sum(rejected.values())
        shown = "; ".join(str(error) for error in errors[:MAX_ERRORS])
        more = f" (and {total - len(errors[:MAX_ERRORS])} more)" if total > MAX_ERRORS else ""
        by_table = ", ".join(f"{table} {count}" for table, count in sorted(rejected.items()))
        super().__init__(f"nothing imported: {total} row(s) rejected ({by_table}): {shown}{more}")
        self.errors = errors
        self.rejected = rejected


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    already_imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    images_copied: int = 0
    images_missing: int = 0
    images_refused: int = 0
    # The first few refused images and why (a link, not an image, too large...).
    refused: list[str] = field(default_factory=list)
    screenshot_folders: int = 0
    positions_rebuilt: int = 0

    def refuse(self, path: Path, reason: str) -> None:
        self.images_refused += 1
        if len(self.refused) < MAX_ERRORS:
            self.refused.append(f"{path}: {reason}")

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already_imported": self.already_imported,
            "images_copied": self.images_copied,
            "images_missing": self.images_missing,
            "images_refused": self.images_refused,
            "refused": self.refused,
            "screenshot_folders": self.screenshot_folders,
            "positions_rebuilt": self.positions_rebuilt,
        }


@dataclass(frozen=True)
class ImageLimits:
    """What an imported image may be, as for uploads (MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS)."""

    max_bytes: int
    max_pixels: int


class Progress(Protocol):
    """Told as the import goes (the CLI draws bars on a terminal)."""

    def start(self, totals: dict[str, int]) -> None: ...
    def rows(self, table: str, count: int) -> None: ...
    def image(self) -> None: ...


class NoProgress:
    def start(self, totals: dict[str, int]) -> None:
        pass

    def rows(self, table: str, count: int) -> None:
        pass

    def image(self) -> None:
        pass


@dataclass(frozen=True)
class Sources:
    database: Path
    uploads: Path | None = None
    screenshots: Path | None = None


# Fixed statements: nothing in them comes from the file being read.
_READ = {
    "records": "SELECT * FROM records ORDER BY id",
    "trades": "SELECT * FROM trades ORDER BY id",
    "bots": "SELECT * FROM bots ORDER BY hwnd",
    "observations": "SELECT * FROM observations ORDER BY id",
}
IMPORTS: Table = models.OriginalImport.__table__  # type: ignore[assignment]
POSITIONS: Table = models.Position.__table__  # type: ignore[assignment]
TOTALS: Table = models.TickerTotal.__table__  # type: ignore[assignment]
TRADES: Table = models.Trade.__table__  # type: ignore[assignment]
BOTS: Table = models.Bot.__table__  # type: ignore[assignment]


class Original:
    """The original's database, open read-only; its tables read a batch of rows at a time."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        self.path = path
        self._connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self._connection.row_factory = sqlite3.Row
        try:
            self.present = {
                name
                for (name,) in self._connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            }
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ImportFailed([BadRow("database", path.name, f"not readable: {exc}")]) from exc
        if not self.present & set(TABLES):
            self.close()
            raise ImportFailed([BadRow("database", path.name, "has none of " + ", ".join(TABLES))])

    def close(self) -> None:
        self._connection.close()

    def count(self, table: str) -> int:
        if table not in self.present:
            return 0
        # A fixed statement per table: nothing in it comes from the file being read.
        statement = {
            "records": "SELECT count(*) FROM records",
            "trades": "SELECT count(*) FROM trades",
            "bots": "SELECT count(*) FROM bots",
            "observations": "SELECT count(*) FROM observations",
        }[table]
        return int(self._connection.execute(statement).fetchone()[0])

    def batches(self, table: str) -> Iterator[list[Row]]:
        if table not in self.present:
            return
        try:
            cursor = self._connection.execute(_READ[table])
            while batch := cursor.fetchmany(BATCH):
                yield [dict(row) for row in batch]
        except sqlite3.DatabaseError as exc:
            raise ImportFailed([BadRow(table, "?", f"not readable: {exc}")]) from exc


def read_original(path: Path) -> dict[str, list[Row]]:
    """Every row of the original's tables (a table it never created is empty)."""
    original = Original(path)
    try:
        return {
            table: [row for batch in original.batches(table) for row in batch] for table in TABLES
        }
    finally:
        original.close()


def convert(original: dict[str, list[Row]]) -> dict[str, list[tuple[int, Row]]]:
    """Every row checked and converted; ImportFailed listing each bad one, by table and id."""
    converted: dict[str, list[tuple[int, Row]]] = {}
    errors: list[BadRow] = []
    for table in TABLES:
        converted[table] = []
        for row in original.get(table, []):
            try:
                converted[table].append(convert_row(table, row))
            except BadRow as error:
                errors.append(error)
    if errors:
        raise ImportFailed(errors)
    return converted


# -- writing ------------------------------------------------------------------------------


class _CopiedFiles:
    """Files copied in for this import; removed again if the import does not commit."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def remove(self) -> None:
        for path in reversed(self.paths):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


@dataclass
class _Run:
    """One import under way: where files go, what was copied, what was found wrong."""

    sources: Sources
    uploads: FileStore
    limits: ImageLimits
    progress: Progress
    report: ImportReport = field(default_factory=ImportReport)
    copied: _CopiedFiles = field(default_factory=_CopiedFiles)
    errors: list[BadRow] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    traded: set[tuple[str, str]] = field(default_factory=set)

    def reject(self, error: BadRow) -> None:
        self.rejected[error.table] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def import_original(
    sources: Sources,
    database: Database,
    uploads: FileStore,
    screenshots_dir: Path,
    limits: ImageLimits | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import it all in one transaction, or nothing (ImportFailed naming the bad rows)."""
    run = _Run(
        sources,
        uploads,
        limits or ImageLimits(10 * 1024 * 1024, 3840 * 2400),
        progress or NoProgress(),
    )
    original = Original(sources.database)
    try:
        run.progress.start({table: original.count(table) for table in TABLES})
        with database.transaction() as connection:
            for table in TABLES:
                _import_table(connection, original, table, run)
            if run.rejected:
                raise ImportFailed(run.errors, run.rejected)  # rolls the transaction back
            run.report.positions_rebuilt = rebuild_positions(connection, run.traded)
            if sources.screenshots is not None:
                run.report.screenshot_folders = _copy_screenshots(
                    sources.screenshots, screenshots_dir, run
                )
    except BaseException:
        run.copied.remove()
        raise
    finally:
        original.close()
    return run.report


def _import_table(connection: Connection, original: Original, table: str, run: _Run) -> None:
    """Each batch checked; written while no row was bad (after one, only checked, to count)."""
    for batch in original.batches(table):
        converted = []
        for row in batch:
            try:
                converted.append(convert_row(table, row))
            except BadRow as error:
                run.reject(error)
        run.progress.rows(table, len(batch))
        if run.rejected:
            continue  # nothing will be written: the rest is only checked
        done = _already_imported(connection, table, [source_id for source_id, _ in converted])
        fresh = [(i, row) for i, row in converted if i not in done]
        run.report.already_imported[table] += len(converted) - len(fresh)
        if table in ("records", "observations"):
            for _, row in fresh:
                _bring_image(row, run)
        if table == "trades":
            run.traded.update((row["bot"], row["ticker"]) for _, row in converted)
        _insert(connection, table, fresh)
        run.report.imported[table] += len(fresh)


def _already_imported(connection: Connection, table: str, source_ids: list[int]) -> set[int]:
    if not source_ids:
        return set()
    found = connection.execute(
        select(IMPORTS.c.source_id).where(
            IMPORTS.c.source_table == table, IMPORTS.c.source_id.in_(source_ids)
        )
    )
    return set(found.scalars())


def _insert(connection: Connection, table: str, rows: list[tuple[int, Row]]) -> None:
    """The batch in one INSERT ... RETURNING (SQLAlchemy's "insertmanyvalues"), marked as done."""
    if not rows:
        return
    _, target, _ = CONVERTERS[table]
    target_ids: list[str | None]
    if table == "bots":  # a few rows, each merged with a bot seen here already
        target_ids = [_merge_bot(connection, row) for _, row in rows]
    else:
        target_ids = [str(new_id) for new_id in _insert_returning_ids(connection, target, rows)]
    marks = [
        {"source_table": table, "source_id": source_id, "target_id": target_id}
        for (source_id, _), target_id in zip(rows, target_ids, strict=True)
    ]
    connection.execute(insert(IMPORTS), marks)


def _insert_returning_ids(
    connection: Connection, target: Table, rows: list[tuple[int, Row]]
) -> list[int]:
    """The new ids, in the rows' order, from one multi-row INSERT ... RETURNING.

    PostgreSQL: SQLAlchemy orders what RETURNING gives by the rows sent. SQLite:
    SQLAlchemy would fall back to a statement per row for that order, so the ids
    are sorted instead. That is the rows' order: this transaction is the only
    writer (BEGIN IMMEDIATE) and SQLite gives each new row one more than the
    largest rowid, in the order of the VALUES list.
    """
    values = [row for _, row in rows]
    if connection.dialect.name == "sqlite":
        result = connection.execute(insert(target).returning(target.c.id), values)
        return sorted(result.scalars())
    statement = insert(target).returning(target.c.id, sort_by_parameter_order=True)
    return list(connection.execute(statement, values).scalars())


def _merge_bot(connection: Connection, row: Row) -> str:
    """A window seen here already keeps its state; it gains the original's saved settings."""
    existing = connection.execute(select(BOTS.c.meta).where(BOTS.c.bot == row["bot"])).first()
    if existing is None:
        connection.execute(insert(BOTS), row)
    else:
        meta = {**row["meta"], **(existing.meta or {})}
        connection.execute(BOTS.update().where(BOTS.c.bot == row["bot"]).values(meta=meta))
    return str(row["bot"])


def _bring_image(row: Row, run: _Run) -> None:
    """An uploaded image named by the row, copied into our uploads under a name of ours."""
    original = row.get("image_path")
    if not original:
        return
    source = run.sources.uploads
    row["image_path"] = None  # unless it is copied
    found = source / Path(str(original).replace("\\", "/")).name if source else None
    if found is None or not os.path.lexists(found):
        run.report.images_missing += 1
        return
    try:
        data = _read_image_file(found, run.limits)
    except ValueError as exc:
        run.report.refuse(found, str(exc))
        return
    name = run.uploads.new_name(data[1])
    run.uploads.ensure()
    target = run.uploads.write_atomic(name, data[0])
    run.copied.paths.append(target)
    row["image_path"] = f"uploads/{name}"
    run.report.images_copied += 1
    run.progress.image()


def _read_image_file(path: Path, limits: ImageLimits) -> tuple[bytes, str]:
    """A regular file's bytes and the extension its content has; ValueError saying why not."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    if path.is_symlink():  # O_NOFOLLOW is not on every platform
        raise ValueError("a symbolic link, not a file")
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise ValueError(f"cannot be opened ({exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ValueError(f"larger than MAX_UPLOAD_BYTES ({limits.max_bytes} bytes)")
    return data, checked_image(data, limits.max_pixels)


def _copy_screenshots(source: Path, target_dir: Path, run: _Run) -> int:
    """Each `hwnd_<id>` folder that is not here yet: its images (checked as uploads are,
    under their own name when its suffix is the content's) and its results.csv."""
    count = 0
    for folder in sorted(source.glob("hwnd_*")):
        target = target_dir / folder.name
        if folder.is_symlink() or not folder.is_dir() or target.exists():
            continue
        target.mkdir(parents=True)
        run.copied.paths.append(target)
        for path in sorted(folder.iterdir()):
            _copy_screenshot(path, target, run)
        count += 1
    return count


def _copy_screenshot(path: Path, target: Path, run: _Run) -> None:
    if path.name == "results.csv" and not path.is_symlink() and path.is_file():
        shutil.copyfile(path, target / path.name, follow_symlinks=False)
        return
    try:
        data, extension = _read_image_file(path, run.limits)
    except ValueError as exc:
        run.report.refuse(path, str(exc))
        return
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ({extension, "jpeg"} if extension == "jpg" else {extension}):
        run.report.refuse(path, f"named .{suffix} but holds {extension.upper()}")
        return
    (target / path.name).write_bytes(data)
    run.progress.image()


# -- positions from the ledger --------------------------------------------------------------


def rebuild_positions(connection: Connection, keys: Iterable[tuple[str, str]]) -> int:
    """Each (bot, ticker)'s position, and each ticker's running totals, from all its trades."""
    keys = sorted(set(keys))
    for bot, ticker in keys:
        trades = connection.execute(
            select(TRADES.c.side, TRADES.c.price, TRADES.c.ts)
            .where(TRADES.c.bot == bot, TRADES.c.ticker == ticker)
            .order_by(TRADES.c.ts, TRADES.c.id)
        ).all()
        connection.execute(
            delete(POSITIONS).where(POSITIONS.c.bot == bot, POSITIONS.c.ticker == ticker)
        )
        connection.execute(insert(POSITIONS), _position(bot, ticker, trades))
    for ticker in sorted({ticker for _, ticker in keys}):
        _rebuild_totals(connection, ticker)
    return len(keys)


def _position(bot: str, ticker: str, trades: Iterable[Any]) -> Row:
    state: Row = {
        "bot": bot,
        "ticker": ticker,
        "is_long": False,
        "entry_price": None,
        "entry_time": None,
        "first_cycle_done": False,
        "waiting": False,
        "last_direction": None,
        "last_price": None,
        "consecutive_drops": 0,
        "down_since": None,
        "open_record_id": None,
    }
    for side, price, ts in trades:
        buying = side == Side.BUY.value
        state["is_long"] = buying
        state["entry_price"], state["entry_time"] = (price, ts) if buying else (None, None)
        state["first_cycle_done"] = state["first_cycle_done"] or not buying
        state["last_direction"] = Trend.UP.value if buying else Trend.DOWN.value
        state["last_price"] = price
    return state


def _rebuild_totals(connection: Connection, ticker: str) -> None:
    profits = connection.execute(
        select(TRADES.c.profit).where(TRADES.c.ticker == ticker, TRADES.c.side == "sell")
    ).scalars()
    total, wins, losses = Decimal(0), 0, 0
    for profit in _amounts(profits):
        total += profit
        wins, losses = (wins + 1, losses) if profit > 0 else (wins, losses + 1)
    connection.execute(delete(TOTALS).where(TOTALS.c.ticker == ticker))
    connection.execute(
        insert(TOTALS), {"ticker": ticker, "total_pnl": total, "wins": wins, "losses": losses}
    )


def _amounts(values: Iterable[Decimal | None]) -> Iterator[Decimal]:
    for value in values:
        yield value if value is not None else Decimal(0)
