"""GET /bots and DELETE /bots/{hwnd}: the row and screenshots go, the trades stay."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from trade_analysis.config import Settings
from trade_analysis.trading.bot_settings import BotSettings

settings_of = BotSettings.model_validate


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
    services.ledger.save_bot_settings("4242", 4242, settings_of({"crop": {"right": 0.2}}))
    folder = settings.screenshots_dir / "hwnd_4242"
    folder.mkdir(parents=True)
    (folder / "shot.jpg").write_bytes(b"x")
    client.post(
        "/api/v1/ingest", data={"bot": "4242", "ticker": "AAPL", "price": "10", "trend": "up"}
    )

    response = client.delete("/api/v1/bots/4242")
    assert response.json() == {"ok": True, "deleted": "4242", "screenshots_removed": True}
    assert not folder.exists()
    assert client.get("/api/v1/bots").json() == []
    assert len(client.get("/api/v1/trades").json()["all_trades"]) == 1


def test_delete_unknown_bot_is_404(client: TestClient) -> None:
    response = client.delete("/bots/999")
    assert response.status_code == 404 and "999" in response.json()["detail"]


def test_saving_settings_never_loses_earlier_ones(client: TestClient) -> None:
    ledger = client.app.state.services.ledger
    ledger.save_bot_settings("7", 7, settings_of({"crop": {"right": 0.3}}))
    client.post("/ingest", data={"bot": "7", "ticker": "AAPL", "price": "10", "trend": "up"})
    merged = ledger.save_bot_settings("7", 7, settings_of({"rules": {"take_profit": "1"}}))
    assert merged.to_meta() == {"crop": {"right": 0.3}, "rules": {"take_profit": "1"}}
    assert client.get("/bots").json()[0]["meta"] == merged.to_meta()


def test_saved_rules_change_how_the_bot_trades(client: TestClient) -> None:
    saved = client.put("/bots/w9/settings", json={"rules": {"take_profit": "2.5"}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["meta"]["rules"]["take_profit"] == "2.5"
    for price, trend in [("10", "up"), ("11", "down"), ("12.5", "up")]:
        client.post("/ingest", data={"bot": "w9", "ticker": "AAPL", "price": price, "trend": trend})
    trades = client.get("/trades").json()["all_trades"]
    assert [(t["direction"], t["price"], t["win_reason"]) for t in trades] == [
        ("buy", 10.0, "signal"),
        ("sell", 12.5, "take_profit"),
    ]


def test_rules_saved_while_a_bot_trades_apply_from_its_next_signal(client: TestClient) -> None:
    client.post("/ingest", data={"bot": "w9", "ticker": "AAPL", "price": "10", "trend": "up"})
    saved = client.put("/bots/w9/settings", json={"rules": {"take_profit": "2.5"}})
    assert saved.status_code == 200, saved.text
    for price, trend in [("11", "down"), ("12.5", "up")]:
        client.post("/ingest", data={"bot": "w9", "ticker": "AAPL", "price": price, "trend": trend})
    trades = client.get("/trades").json()["all_trades"]
    assert [(t["direction"], t["price"], t["win_reason"]) for t in trades] == [
        ("buy", 10.0, "signal"),
        ("sell", 12.5, "take_profit"),
    ]


def test_title_pattern_is_saved_and_removed(client: TestClient) -> None:
    pattern = r"(?P<ticker>[A-Z]+)/USD (?P<price>[\d.]+)"
    assert client.put("/bots/5/settings", json={"title_pattern": pattern}).json()["meta"] == {
        "title_pattern": pattern
    }
    cleared = client.put("/bots/5/settings", json={"title_pattern": ""})
    assert cleared.json()["meta"] == {"title_pattern": None}
    assert client.get("/bots").json()[0]["hwnd"] == 5


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"title_pattern": "(unclosed"}, "pattern"),
        ({"rules": {"take_profit": -1}}, "take_profit"),
        ({"rules": {"stop_loss": "lots"}}, "stop_loss"),
        ({"rules": {"exchange_timezone": "Mars/Olympus"}}, "Mars/Olympus"),
        ({"rules": {"sell_after_drops": 0}}, "sell_after_drops"),
        ({"rules": {"unknown_rule": 1}}, "unknown_rule"),
    ],
)
def test_bad_bot_settings_are_422_and_nothing_is_saved(
    client: TestClient, body: dict, detail: str
) -> None:
    response = client.put("/bots/w1/settings", json=body)
    assert response.status_code == 422
    assert detail in str(response.json()["detail"])
    assert client.get("/bots").json() == []


def test_bot_names_in_the_path_are_checked(client: TestClient) -> None:
    assert client.put("/bots/..%2Fx/settings", json={}).status_code in (404, 422)


def test_ocr_is_a_per_bot_setting(client: TestClient) -> None:
    assert client.put("/bots/3/settings", json={"ocr": True}).json()["meta"] == {"ocr": True}
    assert client.put("/bots/3/settings", json={"ocr": "sometimes"}).status_code == 422


@pytest.mark.parametrize("key", ["99999999999999999999999", "a" * 65, "%C3%A9", "١٢٣"])
def test_bot_keys_that_cannot_exist_are_refused_not_crashed_on(
    client: TestClient, key: str
) -> None:
    assert client.delete(f"/bots/{key}").status_code in (404, 422)


def test_a_bot_long_in_two_tickers_shows_both_and_a_sell_closes_only_its_own(
    client: TestClient,
) -> None:
    for ticker, price, trend in [("AAPL", "10", "up"), ("TSLA", "250", "up")]:
        client.post("/ingest", data={"bot": "w2", "ticker": ticker, "price": price, "trend": trend})
    # The first cycle: an `up` while flat buys; TSLA then falls and sells.
    (bot,) = client.get("/bots").json()
    assert [(p["ticker"], p["entry_price"]) for p in bot["positions"]] == [
        ("AAPL", 10.0),
        ("TSLA", 250.0),
    ]
    client.post("/ingest", data={"bot": "w2", "ticker": "TSLA", "price": "251", "trend": "down"})
    (bot,) = client.get("/bots").json()
    assert [(p["ticker"], p["entry_price"]) for p in bot["positions"]] == [("AAPL", 10.0)]
    assert (bot["open_direction"], bot["open_price"], bot["total_pnl"]) == ("long", 10.0, 1.0)


def test_a_crop_saved_with_the_settings_is_checked_and_kept_as_given(client: TestClient) -> None:
    saved = client.put("/bots/8/settings", json={"crop": {"right": 0.25}})
    assert saved.json()["meta"] == {"crop": {"right": 0.25}}
    refused = client.put("/bots/8/settings", json={"crop": {"left": 0.7, "right": 0.3}})
    assert refused.status_code == 422 and "no pixels" in str(refused.json()["detail"])
    assert client.put("/bots/8/settings", json={"ocr": True}).json()["meta"] == {
        "crop": {"right": 0.25},
        "ocr": True,
    }


def test_an_open_position_is_marked_to_the_last_price_its_bot_read(client: TestClient) -> None:
    """The chart moved 50% since the buy: the bot shows it, not 0.00."""
    client.post(
        "/ingest",
        data={"bot": "w1", "name": "Apple", "ticker": "AAPL", "price": "100", "trend": "up"},
    )
    client.post("/ingest", data={"bot": "w1", "ticker": "AAPL", "price": "150", "trend": "up"})
    (bot,) = client.get("/bots").json()
    assert bot["total_pnl"] == 0 and bot["unrealised_pnl"] == 50
    (held,) = bot["open_positions"]
    assert held["ticker"] == "AAPL" and held["name"] == "Apple"
    assert (held["entry_price"], held["last_price"]) == (100, 150)
    assert held["unrealised_pnl"] == 50 and held["unrealised_pct"] == 50
    assert held["open_seconds"] >= 0 and held["entry_time"].endswith("Z")
    client.post("/ingest", data={"bot": "w1", "ticker": "AAPL", "price": "140", "trend": "down"})
    (bot,) = client.get("/bots").json()
    assert bot["total_pnl"] == 40 and bot["unrealised_pnl"] == 0 and bot["open_positions"] == []


def buy_then_mark(client: TestClient, bot: str = "w1") -> None:
    """A buy at 10, then the chart reads 12 (no trade: still going up)."""
    for price in ("10", "12"):
        client.post("/ingest", data={"bot": bot, "ticker": "AAPL", "price": price, "trend": "up"})


def test_a_bot_is_renamed_and_keeps_its_name(client: TestClient) -> None:
    buy_then_mark(client)
    renamed = client.put("/api/v1/bots/w1", json={"name": "  My Apple  "})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["bot"], renamed.json()["name"]) == ("w1", "My Apple")
    client.post("/ingest", data={"bot": "w1", "name": "Apple", "ticker": "AAPL", "price": "13"})
    (bot,) = client.get("/api/v1/bots").json()
    assert (bot["name"], bot["state"], bot["hwnd"]) == ("My Apple", "stopped", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"hwnd": -1}, "hwnd"),
        ({"hwnd": "window"}, "hwnd"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_bot_update_is_422_naming_the_field(
    client: TestClient, body: dict, field: str
) -> None:
    buy_then_mark(client)
    response = client.put("/api/v1/bots/w1", json=body)
    assert response.status_code == 422 and field in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/api/v1/bots/nobody", {"name": "x"}),
        ("post", "/api/v1/bots/nobody/pause", None),
        ("post", "/api/v1/bots/nobody/resume", None),
        ("post", "/api/v1/bots/nobody/close", None),
    ],
)
def test_an_unknown_bot_is_404(client: TestClient, method: str, path: str, body: dict) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


def test_a_paused_bot_says_so_until_resumed(client: TestClient) -> None:
    buy_then_mark(client)
    paused = client.post("/api/v1/bots/w1/pause")
    assert paused.json() == {"bot": "w1", "hwnd": None, "state": "paused"}
    assert client.get("/bots").json()[0]["state"] == "paused"
    # An upload's bot reads from no window: resumed, it has none to wait for.
    resumed = client.post("/api/v1/bots/w1/resume").json()
    assert resumed == {"bot": "w1", "hwnd": None, "state": "stopped"}


def test_closing_a_bot_sells_at_the_last_price_read_into_ledger_and_history(
    client: TestClient,
) -> None:
    buy_then_mark(client)
    closed = client.post("/api/v1/bots/w1/close")
    assert closed.status_code == 200, closed.text
    (sold,) = closed.json()["trades"]
    assert (sold["direction"], sold["price"], sold["profit"]) == ("sell", 12, 2)
    assert sold["win_reason"] == "manual close"
    (record,) = [r for r in client.get("/api/v1/history").json() if r["kind"] == "trade"]
    assert (record["buy_price"], record["sell_price"]) == (10, 12)
    trades = client.get("/trades").json()
    assert trades["tickers"]["AAPL"]["total_pnl"] == 2
    assert [t["win_reason"] for t in trades["all_trades"]] == ["signal", "manual close"]
    again = client.post("/api/v1/bots/w1/close")
    assert again.status_code == 409 and "no open position" in again.json()["detail"]
