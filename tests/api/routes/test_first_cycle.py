"""The first-cycle rule, where it acts: said in the trade's reason, and switched off per bot."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def upload(client: TestClient, trend: str, price: str) -> Any:
    fields = {"bot": "w1", "ticker": "AAPL", "price": price, "trend": trend}
    response = client.post("/api/v1/ingest", data=fields)
    assert response.status_code == 200, response.text
    return response.json()["trade"]


def test_a_first_down_buys_and_the_next_down_sells_each_saying_why(client: TestClient) -> None:
    buy = upload(client, "down", "100")
    assert buy["direction"] == "buy" and buy["win_reason"] == "first_cycle"
    assert buy["why"].startswith("first cycle: the ticker's first reading was `down`")
    assert "first_cycle to false" in buy["why"]
    assert upload(client, "up", "101") is None  # waits for the next `down`
    sell = upload(client, "down", "97")
    assert (sell["direction"], sell["win_reason"], sell["profit"]) == ("sell", "first_cycle", -3)
    assert sell["why"].startswith("first cycle: the next `down` after the first-cycle buy")
    listed = client.get("/trades").json()["all_trades"]
    assert [t["why"] for t in listed] == [buy["why"], sell["why"]]
    after = upload(client, "up", "98")
    assert after["win_reason"] == "signal"
    assert after["why"] == "`up` while flat: the basic rule buys"


def test_with_the_first_cycle_off_a_first_down_does_nothing_and_up_buys(
    client: TestClient,
) -> None:
    saved = client.put("/api/v1/bots/w1/settings", json={"rules": {"first_cycle": False}})
    assert saved.status_code == 200 and saved.json()["meta"]["rules"]["first_cycle"] is False
    assert upload(client, "down", "100") is None
    buy = upload(client, "up", "101")
    assert (buy["direction"], buy["win_reason"]) == ("buy", "signal")
    sell = upload(client, "down", "99")
    assert (sell["direction"], sell["win_reason"], sell["profit"]) == ("sell", "signal", -2)
