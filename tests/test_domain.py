"""Prices and times as every layer reads and writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trade_analysis.domain import (
    InvalidPrice,
    format_price,
    parse_price,
    parse_wire_time,
    to_wire,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("189.23", "189.23"),
        ("$189.23", "189.23"),
        ("$ 1,234.56", "1234.56"),
        (" 42000 ", "42000"),
        (".5", "0.5"),
        (7, "7"),
        (1.1, "1.1"),
    ],
)
def test_prices_are_read_exactly(text: str | int | float, amount: str) -> None:
    assert parse_price(text) == Decimal(amount)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "$",
        "abc",
        "-1",
        "0",
        "1,23",
        "1e5",
        "12.3.4",
        "$$1",
        "1 000",
        True,
        10**16,
        "0.00000000001",
        float("nan"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: object) -> None:
    with pytest.raises(InvalidPrice, match="price"):
        parse_price(text)  # type: ignore[arg-type]


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999"), places=2))
def test_the_display_form_reads_back_as_the_same_amount(amount: Decimal) -> None:
    text = format_price(amount)
    assert text.startswith("$") and parse_price(text) == amount


def test_wire_times_are_utc_with_a_z() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert to_wire(moment) == "2026-01-02T01:04:05Z"
    assert to_wire(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert parse_wire_time("2026-01-02T01:04:05Z") == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert parse_wire_time("2026-01-02T03:04:05+02:00") == moment
