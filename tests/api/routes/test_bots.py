"""GET /bots and DELETE /bots/{hwnd}: the row and screenshots go, the trades stay."""

from __future__ import annotations

from fastapi.testclient import TestClient

from trade_analysis.config import Settings


def test_bots_list_totals_and_open_position(client: TestClient) -> None:
    client.post("/ingest", data={"bot": "w1", "ticker": "AAPL", "price": "10", "trend": "up"})
    client.post("/ingest", data={"bot": "w1", "ticker": "AAPL", "price": "12.5", "trend": "down"})
    client.post("/ingest", data={"bot": "w1", "ticker": "AAPL", "price": "12", "trend": "up"})
    (bot,) = client.get("/bots").json()
    assert bot["bot"] == "w1" and bot["ticker"] == "AAPL"
    assert bot["total_pnl"] == 2.5 and bot["open_direction"] == "long" and bot["open_price"] == 12


def test_delete_bot_keeps_its_trades_and_removes_its_screenshots(
    client: TestClient, settings: Settings
) -> None:
    services = client.app.state.services
    services.ledger.save_bot_settings("4242", 4242, {"crop": {"right": 0.2}})
    folder = settings.screenshots_dir / "hwnd_4242"
    folder.mkdir(parents=True)
    (folder / "shot.jpg").write_bytes(b"x")
    client.post("/ingest", data={"bot": "4242", "ticker": "AAPL", "price": "10", "trend": "up"})

    response = client.delete("/bots/4242")
    assert response.json() == {"ok": True, "deleted": "4242", "screenshots_removed": True}
    assert not folder.exists()
    assert client.get("/bots").json() == []
    assert len(client.get("/trades").json()["all_trades"]) == 1


def test_delete_unknown_bot_is_404(client: TestClient) -> None:
    response = client.delete("/bots/999")
    assert response.status_code == 404 and "999" in response.json()["detail"]


def test_saving_settings_never_loses_earlier_ones(client: TestClient) -> None:
    ledger = client.app.state.services.ledger
    ledger.save_bot_settings("7", 7, {"crop": {"right": 0.3}})
    client.post("/ingest", data={"bot": "7", "ticker": "AAPL", "price": "10", "trend": "up"})
    merged = ledger.save_bot_settings("7", 7, {"rules": {"take_profit": "1"}})
    assert merged == {"crop": {"right": 0.3}, "rules": {"take_profit": "1"}}
    assert client.get("/bots").json()[0]["meta"] == merged
