"""Move an installation of the original backend over: its SQLite database and its images.

`import_original` reads the original's `backend_data.db` (tables `records`,
`trades`, `bots`, `observations`, as ORIGINAL.md describes them), checks every
row first, and writes them all in one transaction, or nothing: a bad row is
reported with its table and id. Prices are parsed from their text (the text
is kept on records, as the original's clients read it), times are made UTC
(naive ones were written in UTC), and positions and running totals are
rebuilt from the trades. Each imported row is remembered in
`original_imports`, so a second run adds nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select

from trade_analysis.db import models
from trade_analysis.db.session import Database
from trade_analysis.domain import InvalidPrice, Side, Trend, parse_price, parse_wire_time
from trade_analysis.storage import FileStore

logger = logging.getLogger(__name__)

TABLES = ("records", "trades", "bots", "observations")
ORIGINAL_BOT = "original"  # trades and observations of the original that name no window
MAX_ERRORS = 20

Row = dict[str, Any]


class BadRow(ValueError):
    def __init__(self, table: str, row_id: object, reason: str) -> None:
        super().__init__(f"{table} id {row_id}: {reason}")
        self.table, self.row_id, self.reason = table, row_id, reason


class ImportFailed(ValueError):
    """Nothing was imported; the message lists the rows that stopped it."""

    def __init__(self, errors: list[BadRow]) -> None:
        shown = "; ".join(str(error) for error in errors[:MAX_ERRORS])
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        super().__init__(f"nothing imported: {shown}{more}")
        self.errors = errors


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    already_imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    images_copied: int = 0
    images_missing: int = 0
    screenshot_folders: int = 0
    positions_rebuilt: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "already_imported": self.already_imported,
            "images_copied": self.images_copied,
            "images_missing": self.images_missing,
            "screenshot_folders": self.screenshot_folders,
            "positions_rebuilt": self.positions_rebuilt,
        }


@dataclass(frozen=True)
class Sources:
    database: Path
    uploads: Path | None = None
    screenshots: Path | None = None


# -- reading values the way the original wrote them --------------------------------------


def _time(value: object) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"time {value!r} is missing or not ISO-8601")
    try:
        return parse_wire_time(value.replace(" ", "T", 1) if "T" not in value else value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"time {value!r} is not ISO-8601") from exc


def _optional_time(value: object) -> datetime | None:
    return None if value in (None, "") else _time(value)


def _price(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str | int | float):
        raise ValueError(f"price {value!r} is not a number")
    try:
        return parse_price(value)
    except InvalidPrice as exc:
        raise ValueError(str(exc)) from exc


def _amount(value: object) -> Decimal | None:
    """A signed amount (profit, P&L): may be negative or zero, unlike a price."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace("$", "").replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"amount {value!r} is not a number") from exc
    if not amount.is_finite():
        raise ValueError(f"amount {value!r} is not finite")
    return amount


def _meta(value: object) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    try:
        meta = json.loads(value) if isinstance(value, str | bytes) else value
    except json.JSONDecodeError as exc:
        raise ValueError(f"meta is not JSON ({exc.msg})") from exc
    if not isinstance(meta, dict):
        raise ValueError("meta is not a JSON object")
    return meta


def _text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ValueError(f"{text[:20]!r}... is longer than {limit} characters")
    return text or None


def _ticker(value: object) -> str | None:
    text = _text(value, 16)
    return text.upper() if text else None


def _trend(value: object) -> str:
    text = (str(value).strip().lower() if value is not None else "") or Trend.NONE.value
    if text not in {t.value for t in Trend}:
        raise ValueError(f"trend {value!r} is not up, down or none")
    return text


def _hwnd(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        hwnd = int(str(value))
    except ValueError as exc:
        raise ValueError(f"hwnd {value!r} is not a window id") from exc
    if not 0 <= hwnd < 2**63:
        raise ValueError(f"hwnd {value!r} is out of range")
    return hwnd


# -- rows of the original into rows of ours -----------------------------------------------


def _record(row: Row) -> Row:
    trend_text = str(row.get("trend") or "").strip().lower()
    sides = {s.value for s in Side}
    sold = row.get("sell_price") not in (None, "")
    is_trade = trend_text in sides or sold or row.get("buy_price") not in (None, "")
    if is_trade and trend_text not in sides:
        trend_text = Side.SELL.value if sold else Side.BUY.value
    price_text = row.get("price")
    return {
        "ts": _time(row.get("ts")),
        "kind": "trade" if is_trade else "observation",
        "bot": None,
        "image_path": row.get("image_path") or None,
        "name": _text(row.get("name"), 255),
        "ticker": _ticker(row.get("ticker")),
        "price": _price(price_text),
        "price_text": _text(price_text, 64) if price_text is not None else None,
        "trend": trend_text if is_trade else _trend(row.get("trend")),
        "buy_price": _price(row.get("buy_price")),
        "sell_price": _price(row.get("sell_price")),
        "buy_time": _optional_time(row.get("buy_time")),
        "sell_time": _optional_time(row.get("sell_time")),
        "meta": _meta(row.get("meta")),
    }


def _trade(row: Row) -> Row:
    side = str(row.get("direction") or row.get("side") or "").strip().lower()
    if side not in {s.value for s in Side}:
        raise ValueError(f"direction {side!r} is not buy or sell")
    ticker = _ticker(row.get("ticker"))
    price = _price(row.get("price"))
    if ticker is None or price is None:
        raise ValueError("a trade needs a ticker and a price")
    hwnd = _hwnd(row.get("hwnd"))
    return {
        "ts": _time(row.get("ts")),
        "bot": str(hwnd) if hwnd is not None else ORIGINAL_BOT,
        "ticker": ticker,
        "side": side,
        "price": price,
        "reason": (_text(row.get("win_reason"), 200) or "signal")[:32],
        "profit": _amount(row.get("profit")) if side == Side.SELL.value else None,
        "record_id": None,
        "meta": {"imported_from": "original"},
    }


def _bot(row: Row) -> Row:
    hwnd = _hwnd(row.get("hwnd"))
    if hwnd is None:
        raise ValueError("a bot needs its hwnd")
    # Its open position (`open_direction`, `open_price`, `open_time`) is rebuilt from its
    # trades into `positions`, as every position is.
    return {
        "bot": str(hwnd),
        "hwnd": hwnd,
        "name": _text(row.get("name"), 255),
        "ticker": _ticker(row.get("ticker")),
        "total_pnl": _amount(row.get("total_pnl")) or Decimal(0),
        "meta": _meta(row.get("meta")),
        "last_signal": None,
        "updated_at": None,
    }


def _observation(row: Row) -> Row:
    hwnd = _hwnd(row.get("hwnd"))
    confidence = row.get("confidence")
    return {
        "ts": _time(row.get("ts")),
        "bot": str(hwnd) if hwnd is not None else ORIGINAL_BOT,
        "name": _text(row.get("name"), 255),
        "ticker": _ticker(row.get("ticker")),
        "price": _price(row.get("price")),
        "trend": _trend(row.get("trend")),
        "confidence": float(confidence) if isinstance(confidence, int | float) else None,
        "image_path": row.get("image_path") or None,
        "meta": _meta(row.get("meta")),
    }


_CONVERTERS: dict[str, tuple[Callable[[Row], Row], Table, str]] = {
    "records": (_record, models.Record.__table__, "id"),  # type: ignore[dict-item]
    "trades": (_trade, models.Trade.__table__, "id"),  # type: ignore[dict-item]
    "bots": (_bot, models.Bot.__table__, "hwnd"),  # type: ignore[dict-item]
    "observations": (_observation, models.Observation.__table__, "id"),  # type: ignore[dict-item]
}
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


def read_original(path: Path) -> dict[str, list[Row]]:
    """Every row of the original's tables (a table it never created is empty)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        present = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not present & set(TABLES):
            raise ImportFailed([BadRow("database", path.name, "has none of " + ", ".join(TABLES))])
        rows: dict[str, list[Row]] = {}
        for table in TABLES:
            rows[table] = (
                [dict(r) for r in connection.execute(_READ[table])] if table in present else []
            )
        return rows
    except sqlite3.DatabaseError as exc:
        raise ImportFailed([BadRow("database", path.name, f"not readable: {exc}")]) from exc
    finally:
        connection.close()


def convert(original: dict[str, list[Row]]) -> dict[str, list[tuple[int, Row]]]:
    """Every row checked and converted; ImportFailed listing each bad one, by table and id."""
    converted: dict[str, list[tuple[int, Row]]] = {}
    errors: list[BadRow] = []
    for table in TABLES:
        to_ours, _, key = _CONVERTERS[table]
        converted[table] = []
        for row in original.get(table, []):
            row_id = row.get(key)
            try:
                if not isinstance(row_id, int):
                    raise ValueError(f"{key} {row_id!r} is not an integer")
                converted[table].append((row_id, to_ours(row)))
            except ValueError as exc:
                errors.append(BadRow(table, row_id, str(exc)))
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


def import_original(
    sources: Sources, database: Database, uploads: FileStore, screenshots_dir: Path
) -> ImportReport:
    converted = convert(read_original(sources.database))
    report = ImportReport()
    copied = _CopiedFiles()
    try:
        with database.transaction() as connection:
            done = _already_imported(connection)
            for table in TABLES:
                fresh = [(i, row) for i, row in converted[table] if i not in done[table]]
                report.already_imported[table] = len(converted[table]) - len(fresh)
                if table in ("records", "observations"):
                    for _, row in fresh:
                        _bring_image(row, sources.uploads, uploads, copied, report)
                _insert(connection, table, fresh)
                report.imported[table] = len(fresh)
            traded = {(row["bot"], row["ticker"]) for _, row in converted["trades"]}
            report.positions_rebuilt = rebuild_positions(connection, traded)
            if sources.screenshots is not None:
                report.screenshot_folders = _copy_screenshots(
                    sources.screenshots, screenshots_dir, copied
                )
    except BaseException:
        copied.remove()
        raise
    return report


def _already_imported(connection: Connection) -> dict[str, set[int]]:
    done: dict[str, set[int]] = defaultdict(set)
    for table, source_id in connection.execute(select(IMPORTS.c.source_table, IMPORTS.c.source_id)):
        done[table].add(source_id)
    return done


def _insert(connection: Connection, table: str, rows: list[tuple[int, Row]]) -> None:
    _, target, _ = _CONVERTERS[table]
    marks = []
    for source_id, row in rows:
        target_id: str | None
        if table == "bots":
            target_id = _merge_bot(connection, row)
        else:
            new_id = connection.execute(insert(target), row).inserted_primary_key
            target_id = str(new_id[0]) if new_id else None
        marks.append({"source_table": table, "source_id": source_id, "target_id": target_id})
    if marks:
        connection.execute(insert(IMPORTS), marks)


def _merge_bot(connection: Connection, row: Row) -> str:
    """A window seen here already keeps its state; it gains the original's saved settings."""
    existing = connection.execute(select(BOTS.c.meta).where(BOTS.c.bot == row["bot"])).first()
    if existing is None:
        connection.execute(insert(BOTS), row)
    else:
        meta = {**row["meta"], **(existing.meta or {})}
        connection.execute(BOTS.update().where(BOTS.c.bot == row["bot"]).values(meta=meta))
    return str(row["bot"])


def _bring_image(
    row: Row, source: Path | None, uploads: FileStore, copied: _CopiedFiles, report: ImportReport
) -> None:
    """An uploaded image named by the row, copied into our uploads under a name of ours."""
    original = row.get("image_path")
    if not original:
        return
    found = source / Path(str(original).replace("\\", "/")).name if source else None
    if found is None or not found.is_file():
        report.images_missing += 1
        row["image_path"] = None
        return
    name = uploads.new_name(found.suffix.lstrip(".").lower() or "png")
    uploads.ensure()
    target = uploads.write_atomic(name, found.read_bytes())
    copied.paths.append(target)
    row["image_path"] = f"uploads/{name}"
    report.images_copied += 1


def _copy_screenshots(source: Path, target_dir: Path, copied: _CopiedFiles) -> int:
    """Each `hwnd_<id>` folder (screenshots and results.csv) that is not here yet."""
    count = 0
    for folder in sorted(source.glob("hwnd_*")):
        target = target_dir / folder.name
        if not folder.is_dir() or target.exists():
            continue
        shutil.copytree(folder, target)
        copied.paths.append(target)
        count += 1
    return count


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
