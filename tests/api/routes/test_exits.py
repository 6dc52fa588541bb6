"""Exits and waits through HTTP: cooldowns holding a re-entry back, closing every position."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from trade_analysis.trading.fills import FREE
from trade_analysis.trading.replay import replay
from trade_analysis.trading.rules import CostsSettings, RulesSettings

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def upload(
    client: TestClient, bot: str, ticker: str, trend: str, price: str, seconds: float
) -> Any:
    fields = {"bot": bot, "ticker": ticker, "price": price, "trend": trend, "ts": at(seconds)}
    response = client.post("/api/v1/ingest", data=fields)
    assert response.status_code == 200, response.text
    return response.json()["trade"]


def settings(client: TestClient, bot: str, **given: Any) -> None:
    response = client.put(f"/api/v1/bots/{bot}/settings", json=given)
    assert response.status_code == 200, response.text


def test_a_cooldown_after_a_sell_blocks_a_re_entry_until_it_ends(client: TestClient) -> None:
    settings(client, "w1", rules={"cooldown_seconds": 60})
    assert upload(client, "w1", "AAPL", "up", "100", 0)["direction"] == "buy"
    assert upload(client, "w1", "AAPL", "down", "99", 10)["direction"] == "sell"
    assert upload(client, "w1", "AAPL", "up", "101", 30) is None  # 20 s after the sell
    assert upload(client, "w1", "AAPL", "up", "102", 69) is None  # 59 s
    again = upload(client, "w1", "AAPL", "up", "103", 70)  # 60 s: over
    assert again["direction"] == "buy" and again["price"] == 103


def test_a_minimum_delay_between_entries_counts_from_the_last_buy(client: TestClient) -> None:
    settings(client, "w1", rules={"min_reentry_seconds": 120})
    upload(client, "w1", "AAPL", "up", "100", 0)
    upload(client, "w1", "AAPL", "down", "99", 100)
    assert upload(client, "w1", "AAPL", "up", "101", 119) is None
    assert upload(client, "w1", "AAPL", "up", "102", 120)["direction"] == "buy"


def test_without_waits_a_sell_can_be_followed_by_a_buy_at_once(client: TestClient) -> None:
    upload(client, "w1", "AAPL", "up", "100", 0)
    upload(client, "w1", "AAPL", "down", "99", 1)
    assert upload(client, "w1", "AAPL", "up", "101", 2)["direction"] == "buy"


def test_bad_waits_are_422_naming_the_field(client: TestClient) -> None:
    for body in ({"cooldown_seconds": 0}, {"min_reentry_seconds": -5}, {"first_cycle": "x"}):
        response = client.put("/api/v1/bots/w1/settings", json={"rules": body})
        assert response.status_code == 422 and next(iter(body)) in response.text


def open_three(client: TestClient) -> None:
    upload(client, "w1", "AAPL", "up", "100", 0)
    upload(client, "w1", "AAPL", "up", "104", 1)
    upload(client, "w1", "MSFT", "up", "300", 2)
    upload(client, "w2", "TSLA", "up", "200", 3)
    upload(client, "w2", "TSLA", "up", "190", 4)
    upload(client, "w3", "NVDA", "up", "50", 5)
    upload(client, "w3", "NVDA", "down", "55", 6)  # w3 ends flat


def test_close_all_sells_every_open_position_at_its_last_price_with_its_reason(
    client: TestClient,
) -> None:
    open_three(client)
    response = client.post("/close_all_positions")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["closed"] == 3
    sold = {(t["bot"], t["ticker"]): t for t in answer["trades"]}
    assert set(sold) == {("w1", "AAPL"), ("w1", "MSFT"), ("w2", "TSLA")}
    assert {t["win_reason"] for t in answer["trades"]} == {"close all"}
    assert {key: (t["price"], t["profit"]) for key, t in sold.items()} == {
        ("w1", "AAPL"): (104, 4),
        ("w1", "MSFT"): (300, 0),
        ("w2", "TSLA"): (190, -10),
    }
    summary = client.get("/api/v1/trades").json()
    assert summary["open_positions"] == [] and summary["total_pnl_all_tickers"] == 5 - 6
    assert client.post("/close_all_positions").json() == {"closed": 0, "trades": []}


def test_close_all_on_the_typed_face_pays_each_bots_costs(client: TestClient) -> None:
    settings(client, "w1", costs={"fee_fixed": "1", "slippage_bps": "100"})
    upload(client, "w1", "AAPL", "up", "100", 0)
    upload(client, "w2", "MSFT", "up", "50", 1)
    answer = client.post("/api/v1/close_all_positions").json()
    sold = {t["bot"]: t for t in answer["trades"]}
    assert (sold["w1"]["fill_price"], sold["w1"]["fee"], sold["w1"]["profit"]) == (99, 1, -4)
    assert (sold["w2"]["fill_price"], sold["w2"]["fee"], sold["w2"]["profit"]) == (50, 0, 0)


def test_close_all_needs_the_key_on_both_faces(client: TestClient, anonymous: TestClient) -> None:
    open_three(client)
    for path in ("/close_all_positions", "/api/v1/close_all_positions"):
        assert anonymous.post(path).status_code == 401
    assert len(client.get("/api/v1/trades").json()["open_positions"]) == 3


def test_replay_gives_the_trades_the_live_path_made_costs_and_waits_included(
    client: TestClient,
) -> None:
    rules = {"cooldown_seconds": 30, "take_profit": "4"}
    costs = {"fee_percent": "0.05", "slippage_bps": "3", "stake_kind": "amount", "stake": "1000"}
    settings(client, "w1", rules=rules, costs=costs)
    # Every 10 s: a first-cycle buy, a take profit, a cooldown holding two `up`s back,
    # a buy when it ends and a second take profit.
    steps = [("down", "100"), ("up", "101"), ("down", "99"), ("up", "98"), ("up", "104")]
    steps += [("up", "105"), ("up", "106"), ("up", "107"), ("up", "111"), ("down", "103")]
    rows = [
        {"timestamp": at(10 * n), "ticker": "AAPL", "price": p, "trend": t, "bot": "w1"}
        for n, (t, p) in enumerate(steps)
    ]
    for n, (trend, price) in enumerate(steps):
        upload(client, "w1", "AAPL", trend, price, 10 * n)
    ledger = client.get("/api/v1/trades").json()["all_trades"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    result = replay(
        csv.DictReader(io.StringIO(text.getvalue())),
        RulesSettings.model_validate(rules).to_rules(),
        CostsSettings.model_validate(costs).over(FREE),
    ).to_json()["trades"]
    assert [(t["direction"], t["price"]) for t in ledger] == [
        ("buy", 100),
        ("sell", 104),
        ("buy", 107),
        ("sell", 111),
    ]
    keys = ("price", "profit", "quantity", "fill_price", "fee")
    assert [[t["direction"], *(t[k] for k in keys), t["win_reason"]] for t in ledger] == [
        [t["side"], *(t[k] for k in keys), t["reason"]] for t in result
    ]
