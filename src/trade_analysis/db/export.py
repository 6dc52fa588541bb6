"""CSV exports of the ledger and the history, streamed: memory stays flat at any size.

Text cells that a spreadsheet would run as a formula are neutralised (a single quote
before them); numbers are written as numbers.

Rows come from a server-side cursor on PostgreSQL (batches of `BATCH` from
SQLite's own cursor) inside one read transaction, so an export is a consistent
snapshot, and they leave as CSV text one batch at a time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from trade_analysis.db import models
from trade_analysis.db.queries import HistoryFilter, history_query
from trade_analysis.db.session import Database
from trade_analysis.domain import to_wire
from trade_analysis.storage import upload_url

BATCH = 2000

TRADE_COLUMNS = (
    "id",
    "ts",
    "bot",
    "ticker",
    "side",
    "price",
    "reason",
    "profit",
    "record_id",
    "quantity",
    "fill_price",
    "fee",
)
HISTORY_COLUMNS = (
    "id",
    "ts",
    "kind",
    "bot",
    "name",
    "ticker",
    "price",
    "trend",
    "buy_price",
    "buy_time",
    "sell_price",
    "sell_time",
    "image_url",
    "meta",
)


@dataclass(frozen=True)
class TradeFilter:
    """The newest `limit` trades (all without one), oldest first as `/trades` lists them."""

    limit: int | None = None


def trades_query(filters: TradeFilter) -> Select[Any]:
    trades = models.Trade.__table__
    query = select(*(trades.c[name] for name in TRADE_COLUMNS))
    if filters.limit is not None:
        newest = select(trades.c.id).order_by(trades.c.id.desc()).limit(filters.limit)
        query = query.where(trades.c.id.in_(newest.scalar_subquery()))
    return query.order_by(trades.c.id)


def history_rows_query(filters: HistoryFilter) -> Select[Any]:
    records = models.Record.__table__
    columns = [records.c[name] for name in HISTORY_COLUMNS if name != "image_url"]
    query = history_query(filters).with_only_columns(*columns, records.c.image_path)
    query = query.order_by(records.c.ts.desc(), records.c.id.desc())
    if filters.limit is not None:
        query = query.limit(filters.limit)
    return query.offset(filters.offset) if filters.offset else query


# Told how many rows each batch wrote (progress for the export command).
RowsWritten = Callable[[int], None]


def _ignore(rows: int) -> None:
    return None


def trades_csv(
    database: Database, filters: TradeFilter, rows_written: RowsWritten = _ignore
) -> Iterator[str]:
    """The ledger as CSV text, a batch of rows per chunk."""
    return _csv(database, trades_query(filters), TRADE_COLUMNS, _trade_cells, rows_written)


def history_csv(
    database: Database, filters: HistoryFilter, rows_written: RowsWritten = _ignore
) -> Iterator[str]:
    query = history_rows_query(filters)
    return _csv(database, query, HISTORY_COLUMNS, _history_cells, rows_written)


def _trade_cells(row: Any) -> list[object]:
    return [_cell(row._mapping[name]) for name in TRADE_COLUMNS]


def _history_cells(row: Any) -> list[object]:
    mapping = row._mapping
    cells = {name: mapping[name] for name in HISTORY_COLUMNS if name not in ("image_url", "meta")}
    cells["image_url"] = upload_url(mapping["image_path"])
    cells["meta"] = json.dumps(mapping["meta"] or {}, separators=(",", ":"), sort_keys=True)
    return [_cell(cells[name]) for name in HISTORY_COLUMNS]


# Text a spreadsheet would run as a formula: OWASP's list of leading characters.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """Text that starts as a formula, with a single quote before it (OWASP's rule).

    Only text cells: the database's numbers reach `_cell` as Decimal or int and
    leave as numbers, so a loss of -3.00 stays a number a spreadsheet adds up.
    """
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralised(value)
    if isinstance(value, datetime):
        return to_wire(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _csv(
    database: Database,
    query: Select[Any],
    header: Sequence[str],
    cells: Callable[[Any], list[object]],
    rows_written: RowsWritten,
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    yield _take(buffer)
    with database.streaming() as connection:
        result = connection.execute(query)
        for batch in result.partitions(BATCH):
            writer.writerows(cells(row) for row in batch)
            yield _take(buffer)
            rows_written(len(batch))


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def write_all(chunks: Iterable[str], stream: Any) -> None:
    """Write an export to a text stream (a file, stdout)."""
    for chunk in chunks:
        stream.write(chunk)
