"""Open positions marked to market: a table of entries, last prices and clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trade_analysis.valuation import OpenPosition, unrealised_total

OPENED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def position(entry: str, last: str | None, *, at: datetime | None = OPENED) -> OpenPosition:
    return OpenPosition(
        "w1", "AAPL", Decimal(entry), at, Decimal(last) if last is not None else None
    )


@pytest.mark.parametrize(
    ("entry", "last", "pnl", "pct"),
    [
        ("100", "150", "50", "50.0000"),
        ("100", "99.5", "-0.5", "-0.5000"),
        ("189.23", "189.23", "0.00", "0.0000"),
        ("3", "4", "1", "33.3333"),
        # Nothing read since the buy: valued at what it cost.
        ("250.12", None, "0.00", "0.0000"),
    ],
)
def test_unrealised_amount_and_percent(entry: str, last: str | None, pnl: str, pct: str) -> None:
    marked = position(entry, last)
    assert marked.unrealised_pnl == Decimal(pnl)
    assert marked.unrealised_pct == Decimal(pct)
    assert marked.mark == Decimal(last or entry)


def test_time_open_from_the_entry_never_negative_and_unknown_without_one() -> None:
    assert position("1", "2").open_seconds(OPENED + timedelta(minutes=90)) == 5400.0
    assert position("1", "2").open_seconds(OPENED - timedelta(seconds=5)) == 0.0
    assert position("1", "2", at=None).open_seconds(OPENED) is None


def test_marked_is_what_the_api_shows_and_totals_add_up() -> None:
    shown = position("100", "104.25").marked(OPENED + timedelta(seconds=30)).model_dump()
    assert shown == {
        "bot": "w1",
        "name": None,
        "ticker": "AAPL",
        "entry_price": Decimal("100"),
        "entry_time": "2026-03-02T15:00:00Z",
        "last_price": Decimal("104.25"),
        "unrealised_pnl": Decimal("4.25"),
        "unrealised_pct": Decimal("4.2500"),
        "open_seconds": 30.0,
        "quantity": Decimal(1),
    }
    assert unrealised_total([position("100", "104.25"), position("10", "9")]) == Decimal("3.25")
    assert unrealised_total([]) == 0
