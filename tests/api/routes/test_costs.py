"""Costs and size through HTTP: a bot's fee, slippage and stake in its trades and P&L."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH
from trade_analysis.app import create_app
from trade_analysis.config import Settings
from trade_analysis.trading.rules import CostsSettings


def costs(client: TestClient, bot: str, **given: Any) -> None:
    response = client.put(f"/api/v1/bots/{bot}/settings", json={"costs": given})
    assert response.status_code == 200, response.text


def upload(client: TestClient, bot: str, trend: str, price: str, ts: str | None = None) -> Any:
    fields = {"bot": bot, "ticker": "AAPL", "price": price, "trend": trend}
    response = client.post("/api/v1/ingest", data=fields | ({"ts": ts} if ts else {}))
    assert response.status_code == 200, response.text
    return response.json()["trade"]


def test_fee_and_slippage_are_in_the_trade_and_its_profit(client: TestClient) -> None:
    costs(client, "w1", fee_percent="0.1", fee_fixed="1", slippage_bps="10", stake="10")
    buy = upload(client, "w1", "up", "100")
    sell = upload(client, "w1", "down", "110")
    # Buy fills 10 bps higher, sell 10 bps lower; each pays 0.1 % of what it trades + 1.
    assert (buy["price"], buy["fill_price"], buy["quantity"], buy["fee"]) == (100, 100.1, 10, 2.001)
    assert (sell["price"], sell["fill_price"], sell["fee"]) == (110, 109.89, 2.0989)
    expected = (Decimal("109.89") - Decimal("100.1")) * 10 - Decimal("2.001") - Decimal("2.0989")
    assert sell["profit"] == float(expected) == 93.8001
    summary = client.get("/api/v1/trades").json()
    assert summary["total_pnl_all_tickers"] == 93.8001
    assert [t["fee"] for t in summary["all_trades"]] == [2.001, 2.0989]
    bot = next(b for b in client.get("/api/v1/bots").json() if b["bot"] == "w1")
    assert bot["total_pnl"] == 93.8001
    csv_lines = client.get("/api/v1/trades.csv").text.splitlines()
    assert csv_lines[0].endswith("quantity,fill_price,fee")
    assert csv_lines[2].endswith(",10,109.89,2.0989")


def test_without_costs_a_trade_is_one_unit_at_the_read_price_with_no_fee(
    client: TestClient,
) -> None:
    upload(client, "w1", "up", "100")
    sell = upload(client, "w1", "down", "104.5")
    assert (sell["quantity"], sell["fill_price"], sell["fee"], sell["profit"]) == (1, 104.5, 0, 4.5)
    seed = client.get("/trades").json()["all_trades"]
    assert seed[1]["price"] == 104.5 and seed[1]["profit"] == 4.5


@pytest.mark.parametrize(
    ("given", "quantity"),
    [
        ({"stake_kind": "quantity", "stake": "7"}, 7),
        ({"stake_kind": "amount", "stake": "1000"}, 33),
        ({"stake_kind": "amount", "stake": "1000", "quantity_decimals": 2}, 33.33),
        ({"stake_kind": "equity_percent", "stake": "25", "starting_balance": "4000"}, 33),
        ({"stake_kind": "amount", "stake": "1000", "max_trade_amount": "500"}, 16),
    ],
    ids=["quantity", "amount", "fractional", "equity percent", "max amount"],
)
def test_each_stake_kind_sizes_the_buy(
    client: TestClient, given: dict[str, str], quantity: float
) -> None:
    costs(client, "w1", **given)
    assert upload(client, "w1", "up", "30")["quantity"] == quantity


def test_an_open_position_is_marked_for_every_unit_it_holds(client: TestClient) -> None:
    costs(client, "w1", stake="4")
    upload(client, "w1", "up", "10")
    upload(client, "w1", "up", "12.5")
    (held,) = client.get("/api/v1/trades").json()["open_positions"]
    assert (held["quantity"], held["unrealised_pnl"], held["unrealised_pct"]) == (4, 10, 25)


def test_an_equity_stake_grows_with_the_bots_realised_profit(client: TestClient) -> None:
    costs(client, "w1", stake_kind="equity_percent", stake="50", starting_balance="1000")
    assert upload(client, "w1", "up", "10")["quantity"] == 50
    assert upload(client, "w1", "down", "12")["profit"] == 100
    assert upload(client, "w1", "up", "10")["quantity"] == 55  # half of 1100


def test_a_buy_under_the_minimum_amount_is_not_made(client: TestClient) -> None:
    costs(client, "w1", stake="2", min_trade_amount="100")
    assert upload(client, "w1", "up", "30") is None
    assert client.get("/api/v1/trades").json()["all_trades"] == []
    refused = client.post(
        "/api/v1/manual_trade",
        json={"bot": "w1", "ticker": "AAPL", "price": 30, "direction": "buy"},
    )
    assert refused.status_code == 422 and "minimum trade amount" in refused.json()["detail"]


@pytest.mark.parametrize(
    "given",
    [
        {"fee_percent": "-1"},
        {"slippage_bps": "10000"},
        {"stake_kind": "shares"},
        {"stake": "0"},
        {"stake_kind": "equity_percent", "stake": "150"},
        {"min_trade_amount": "10", "max_trade_amount": "5"},
        {"quantity_decimals": 9},
        {"fee_fixed": "0.00000000001"},
        {"fees": "1"},
    ],
)
def test_bad_costs_are_422_naming_the_field(client: TestClient, given: dict[str, Any]) -> None:
    response = client.put("/api/v1/bots/w1/settings", json={"costs": given})
    assert response.status_code == 422, response.text
    assert "costs" in str(response.json()["detail"])
    assert all("costs" not in bot["meta"] for bot in client.get("/api/v1/bots").json())


@pytest.fixture
def costly_client(settings: Settings) -> Iterator[TestClient]:
    defaults = CostsSettings(fee_fixed=Decimal("0.5"), stake=Decimal(3))
    costly = settings.model_copy(update={"default_costs_settings": defaults})
    with TestClient(create_app(costly)) as test_client:
        test_client.headers.update(AUTH)
        yield test_client


def test_service_defaults_apply_where_a_bot_sets_none(costly_client: TestClient) -> None:
    buy = upload(costly_client, "w1", "up", "10")
    assert (buy["quantity"], buy["fee"]) == (3, 0.5)
    costs(costly_client, "w2", stake="1")
    other = upload(costly_client, "w2", "up", "10")
    assert (other["quantity"], other["fee"]) == (1, 0.5)  # its own stake, the default fee


def test_default_costs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_COSTS", '{"slippage_bps": "5", "stake_kind": "amount"}')
    defaults = Settings().default_costs
    assert defaults.slippage_bps == 5 and defaults.stake_kind == "amount"
    monkeypatch.setenv("DEFAULT_COSTS", '{"slippage_bps": "-5"}')
    with pytest.raises(ValueError, match="slippage_bps"):
        Settings()
