"""The original's rows checked and converted into rows of ours, one value at a time.

Each value is read the way the original wrote it: prices from their text, times
made UTC (naive ones were written in UTC), `meta` as JSON text holding no NaN or
Infinity, text without NUL and within its column's length. A row that cannot be
read raises BadRow naming its table, its id and what is wrong with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Table

from trade_analysis.db import models
from trade_analysis.domain import InvalidPrice, Side, Trend, parse_price, parse_wire_time

ORIGINAL_BOT = "original"  # trades and observations of the original that name no window

Row = dict[str, Any]


class BadRow(ValueError):
    def __init__(self, table: str, row_id: object, reason: str) -> None:
        super().__init__(f"{table} id {row_id}: {reason}")
        self.table, self.row_id, self.reason = table, row_id, reason


# -- reading values the way the original wrote them --------------------------------------


def _time(value: object) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:  # NaN, Infinity, year 300000
            raise ValueError(f"time {value!r} is out of range") from exc
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


def _refuse_constant(name: str) -> None:
    raise ValueError(f"meta holds {name}, which is not a number JSON allows")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"meta holds {text}, beyond what a number can be")
    return number


def _meta(value: object) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, str | bytes):
        raise ValueError(f"meta {value!r} is not JSON text")
    try:
        meta = json.loads(value, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ValueError(f"meta is not JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("meta nests too deeply") from exc
    if not isinstance(meta, dict):
        raise ValueError("meta is not a JSON object")
    return meta


def _text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError(f"{text[:20]!r}... holds a NUL character")
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
        "image_path": _text(row.get("image_path"), 1024),
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
        "confidence": _confidence(confidence),
        "image_path": _text(row.get("image_path"), 1024),
        "meta": _meta(row.get("meta")),
    }


def _confidence(value: object) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if not math.isfinite(value):
        raise ValueError(f"confidence {value!r} is not a finite number")
    return float(value)


CONVERTERS: dict[str, tuple[Callable[[Row], Row], Table, str]] = {
    "records": (_record, models.Record.__table__, "id"),  # type: ignore[dict-item]
    "trades": (_trade, models.Trade.__table__, "id"),  # type: ignore[dict-item]
    "bots": (_bot, models.Bot.__table__, "hwnd"),  # type: ignore[dict-item]
    "observations": (_observation, models.Observation.__table__, "id"),  # type: ignore[dict-item]
}

_READ_ERRORS = (ValueError, TypeError, OverflowError, ArithmeticError, OSError)


def convert_row(table: str, row: Row) -> tuple[int, Row]:
    """The row's id in the original and the row of ours; BadRow saying what is wrong."""
    to_ours, _, key = CONVERTERS[table]
    row_id = row.get(key)
    try:
        if not isinstance(row_id, int):
            raise ValueError(f"{key} {row_id!r} is not an integer")
        return row_id, to_ours(row)
    except _READ_ERRORS as exc:
        raise BadRow(table, row_id, str(exc)) from None
