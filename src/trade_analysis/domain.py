"""Value types shared by every layer: trends, sides, prices and wire times.

Pure: no I/O, no framework imports, so analysis, trading and the API agree on
one meaning of "up", "$1,234.56" and "2026-01-02T03:04:05Z".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    NONE = "none"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


# Stored as NUMERIC(28, 10): at most 18 digits before the point and 10 after.
MAX_PRICE = Decimal(10) ** 15
MAX_PRICE_DECIMALS = 10


class InvalidPrice(ValueError):
    """A price text that is not a positive amount of money."""


_PRICE_TEXT = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)?(\.\d+)?$")


def parse_price(value: str | int | float | Decimal) -> Decimal:
    """Read `189.23`, `$189.23` or `$ 1,234.56` as an exact, positive Decimal."""
    if isinstance(value, bool):
        raise InvalidPrice(f"price must be a number, not {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = value.strip()
        match = _PRICE_TEXT.match(text)
        if not text or match is None or not (match.group(1) or match.group(2)):
            raise InvalidPrice(f"price {value!r} is not an amount like 189.23 or $1,234.56")
        try:
            amount = Decimal((match.group(1) or "0").replace(",", "") + (match.group(2) or ""))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
            raise InvalidPrice(f"price {value!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidPrice(f"price {value!r} must be a positive amount")
    if amount >= MAX_PRICE:
        raise InvalidPrice(f"price {value!r} is too large (the limit is {MAX_PRICE:,})")
    if decimal_places(amount) > MAX_PRICE_DECIMALS:
        raise InvalidPrice(f"price {value!r} has more than {MAX_PRICE_DECIMALS} decimals")
    return amount


def decimal_places(amount: Decimal) -> int:
    """Digits after the point as written: 2 for 189.23, 0 for 42000 (finite amounts only)."""
    exponent = amount.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def format_price(amount: Decimal) -> str:
    """The seed's display form: `$189.23` (at least two decimals, thousands without commas)."""
    quantized = amount if decimal_places(amount) > 2 else amount.quantize(Decimal("0.01"))
    return f"${quantized}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Naive times are taken as UTC; aware ones are converted to it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_wire(moment: datetime) -> str:
    """ISO-8601 UTC with a `Z`, as every timestamp on the wire is written."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def parse_wire_time(text: str) -> datetime:
    """Read an ISO-8601 time (with `Z`, an offset, or naive meaning UTC)."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(cleaned))
