"""The original's later routes through HTTP: bots as its registry kept them, the capture
interval, time mode, signal source and `/history`'s added filters, with its shapes and
error texts, and without its defects (no open routes, booleans are booleans, no 500s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.capture.test_worker_and_manager import ScriptedDesktop, chart
from tests.images import image_bytes
from trade_analysis.domain import to_wire, utcnow

BOT = {
    "bot_id": "b1",
    "hwnd": 132456,
    "name": "AAPL 1m",
    "ticker": "AAPL",
    "rule_1_enabled": True,
    "take_profit_amount": 0.5,
    "rule_4_start_time": "09:30",
    "rule_4_end_time": "16:00",
    "rule_4_days": [0, 1, 2, 3, 4],
    "rule_9_flips": 3,
}


def rules_of(client: TestClient, bot: str) -> dict:
    """The rules the bot trades by, amounts as numbers."""
    public = client.get(f"/api/v1/bots/{bot}").json()
    rules = dict(public["meta"].get("rules", {}))
    rules.pop("exchange_timezone", None)
    return {k: float(v) if isinstance(v, str) else v for k, v in rules.items()}


def test_upsert_keeps_the_fields_as_sent_and_maps_the_rules(client: TestClient) -> None:
    answer = client.post("/bots/upsert", json=BOT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is True
    bot = body["bot"]
    for field, value in BOT.items():
        assert bot[field] == value, field
    # Rule 1 is this service's take profit; a field it does not implement is only kept.
    assert rules_of(client, "b1")["take_profit"] == 0.5
    # A second upsert merges (last wins) and the rule follows it.
    again = client.post("/bots/upsert", json={"id": "b1", "rule_1_enabled": "false"}).json()
    assert again["bot"]["rule_1_enabled"] == "false" and again["bot"]["rule_9_flips"] == 3
    assert rules_of(client, "b1").get("take_profit") is None
    listed = client.get("/bots").json()
    assert [b["bot_id"] for b in listed] == ["b1"]
    assert listed[0]["name"] == "AAPL 1m" and listed[0]["hwnd"] == 132456
    one = client.get("/bots/b1")
    assert one.status_code == 200 and one.json()["rule_4_days"] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("fields", "rules"),
    [
        ({"rule_2_enabled": 1, "stop_loss_amount": 2}, {"stop_loss": 2.0}),
        ({"rule_2_enabled": True, "stop_loss_amount": 0}, {}),  # a stop of 0 is no stop
        ({"rule_3_enabled": "1", "rule_3_drop_count": 3}, {"sell_after_drops": 3}),
        ({"rule_3_enabled": "0", "rule_3_drop_count": 3}, {}),
        ({"rule_4_enabled": "true"}, {"market_hours_only": True}),
    ],
)
def test_the_original_rules_become_this_bots_rules(
    client: TestClient, fields: dict, rules: dict
) -> None:
    assert client.post("/bots/upsert", json={"bot_id": "r", **fields}).status_code == 200
    saved = rules_of(client, "r")
    assert {k: v for k, v in saved.items() if v not in (None, False)} == rules


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"name": "x"}, 400, "bot_id is required"),
        ({"bot_id": "  "}, 400, "failed to register bot"),
        ({"bot_id": "b", "rule_1_enabled": "maybe"}, 422, "rule_1_enabled"),
        ({"bot_id": "b", "rule_4_days": [7]}, 422, "rule_4_days"),
        ({"bot_id": "b", "rule_4_start_time": "25:00"}, 422, "rule_4_start_time"),
        ({"bot_id": "b", "take_profit_amount": -1}, 422, "take_profit_amount"),
        ({"bot_id": "b", "hwnd": "window"}, 422, "hwnd"),
        ({"bot_id": "a/b"}, 422, "bot_id"),
        ([1, 2], 422, "JSON object"),
    ],
)
def test_upsert_refuses_bad_input_with_a_clear_answer(
    client: TestClient, body: object, status: int, detail: str
) -> None:
    answer = client.post("/bots/upsert", json=body)
    assert answer.status_code == status, answer.text
    assert detail in answer.text
    assert client.get("/bots").json() == []


def test_an_unknown_bot_is_404_and_delete_and_clear_forget_bots(client: TestClient) -> None:
    missing = client.get("/bots/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "bot not found"}
    assert client.delete("/bots/nope").status_code == 404
    for key in ("b1", "b2", "b3"):
        client.post("/bots/upsert", json={"bot_id": key})
    deleted = client.delete("/bots/b1")
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True and deleted.json()["bot_id"] == "b1"
    assert client.get("/bots/b1").status_code == 404
    cleared = client.post("/bots/clear")
    assert cleared.status_code == 200
    assert cleared.json()["cleared"] is True and sorted(cleared.json()["bots"]) == ["b2", "b3"]
    assert client.get("/bots").json() == []


def test_the_later_routes_take_the_key(anonymous: TestClient) -> None:
    for method, path in [
        ("GET", "/bots"),
        ("GET", "/bots/b1"),
        ("POST", "/bots/upsert"),
        ("POST", "/bots/clear"),
        ("POST", "/set_capture_interval?hwnd=1"),
        ("GET", "/time_mode"),
        ("GET", "/signal_source"),
        ("GET", "/screenshots?trade_id=1"),
        ("GET", "/trade_screenshots/1/buy_before_01_20260101_000000_000.jpg"),
    ]:
        assert anonymous.request(method, path).status_code == 401, path


@pytest.fixture
def desktop(client: TestClient) -> Iterator[ScriptedDesktop]:
    desktop = ScriptedDesktop()
    desktop.show(701, "AAPL 175.23 - MyApp", chart(rising=True))
    client.app.state.services.capture.manager._source_factory = desktop.source
    yield desktop
    client.post("/stop_all_workers")


def test_set_capture_interval_changes_a_running_window(
    client: TestClient, desktop: ScriptedDesktop
) -> None:
    assert client.post("/set_capture_interval").json() == {"detail": "hwnd is required"}
    assert client.post("/set_capture_interval").status_code == 400
    missing = client.post("/set_capture_interval", params={"hwnd": 702})
    assert missing.status_code == 404 and missing.json() == {"detail": "Worker not found"}
    assert client.post("/start_multi", params={"hwnd": 701, "interval": 1}).status_code == 200
    changed = client.post("/set_capture_interval", params={"hwnd": 701, "interval": 2.5})
    assert changed.json() == {"hwnd": 701, "interval": 2.5}
    # As the original: never faster than every half second.
    floor = client.post("/set_capture_interval", params={"hwnd": 701, "interval": 0.1})
    assert floor.json() == {"hwnd": 701, "interval": 0.5}
    worker = next(w for w in client.get("/workers").json() if w["hwnd"] == 701)
    assert worker["status"]["interval"] == 0.5
    bad = client.post("/set_capture_interval", params={"hwnd": 701, "interval": "nan"})
    assert bad.status_code == 422
    # The typed route: a JSON body, the worker's status, no silent floor.
    typed = client.post("/api/v1/set_capture_interval", json={"hwnd": 701, "interval": 3})
    assert typed.status_code == 200 and typed.json()["interval"] == 3
    too_fast = client.post("/api/v1/set_capture_interval", json={"hwnd": 701, "interval": 0.1})
    assert too_fast.status_code == 422 and "interval" in too_fast.text
    gone = client.post("/api/v1/set_capture_interval", json={"hwnd": 702, "interval": 1})
    assert gone.status_code == 404


def test_time_mode_and_signal_source(client: TestClient) -> None:
    assert client.get("/time_mode").json() == {
        "mode": "local",
        "default": "local",
        "available": ["local", "utc"],
    }
    assert client.post("/time_mode", json={"mode": "utc"}).json() == {
        "ok": True,
        "mode": "utc",
        "default": "local",
        "available": ["local", "utc"],
    }
    assert client.get("/time_mode").json()["mode"] == "utc"
    assert client.post("/time_mode", json={"mode": "mars"}).json()["mode"] == "local"
    assert client.post("/time_mode").status_code == 422

    source = {"source": "screenshot", "default": "screenshot", "available": ["screenshot"]}
    assert client.get("/signal_source").json() == source
    assert client.post("/signal_source", json={"source": " Screenshot "}).json() == {
        "ok": True,
        **source,
    }
    unknown = client.post("/signal_source", json={"source": "tape"})
    assert unknown.status_code == 400
    assert unknown.json() == {"detail": "source must be 'screenshot' or 'ibkr'"}
    broker = client.post("/signal_source", json={"source": "ibkr"})
    assert broker.status_code == 400 and "not available" in broker.json()["detail"]
    assert client.get("/signal_source").json() == source


def upload(client: TestClient, bot: str, trend: str, price: str, at: datetime) -> dict:
    answer = client.post(
        "/ingest",
        files={"file": (f"{bot}.png", image_bytes(".png", seed=int(at.timestamp())), "image/png")},
        data={"bot": bot, "ticker": "AAPL", "price": price, "trend": trend, "ts": to_wire(at)},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_history_filters_by_bot_day_and_fills_screenshots(client: TestClient) -> None:
    client.post("/time_mode", json={"mode": "utc"})
    client.post("/bots/upsert", json={"bot_id": "alpha", "name": "Alpha Chart"})
    now = utcnow()
    upload(client, "alpha", "none", "10", now - timedelta(seconds=30))
    upload(client, "alpha", "up", "11", now - timedelta(seconds=20))
    upload(client, "beta", "up", "12", now - timedelta(seconds=10))
    rows = client.get("/history", params={"bot_id": "alpha"}).json()
    assert rows and {row["bot_id"] for row in rows} == {"alpha"}
    assert {row["bot_name"] for row in rows} == {"Alpha Chart"}
    assert all(row["screenshots"] == [] for row in rows)
    named = client.get("/history", params={"bot_name": "pha ch"}).json()
    assert {row["bot_id"] for row in named} == {"alpha"}
    trade = next(row for row in rows if row["kind"] == "trade")
    assert trade["trade_id"] == trade["buy_time"]
    with_shots = client.get("/history", params={"bot_id": "alpha", "screenshots": "true"}).json()
    shots = next(row for row in with_shots if row["kind"] == "trade")["screenshots"]
    assert [s["when"] for s in shots] == ["before", "before"]
    assert client.get(shots[0]["url"]).status_code == 200
    listed = client.get("/screenshots", params={"trade_id": trade["trade_id"]}).json()
    assert listed["screenshots"] == shots
    today = now.astimezone(UTC).date()
    on_day = client.get("/history", params={"selected_day": today.isoformat()}).json()
    assert len(on_day) == len(client.get("/history").json())
    yesterday = (today - timedelta(days=1)).isoformat()
    assert client.get("/history", params={"selected_day": yesterday}).json() == []
    bad = client.get("/history", params={"selected_day": "23-07-2026"})
    assert bad.status_code == 422 and "selected_day" in bad.text


def test_history_refuses_a_bot_name_no_database_can_compare(client: TestClient) -> None:
    answer = client.get("/history", params={"bot_name": "a\x00b"})
    assert answer.status_code == 422 and "bot_name" in answer.text


def test_an_upserted_take_profit_sells_the_bots_position(client: TestClient) -> None:
    """Rule 1 from the original's fields acts as this bot's take profit on its signals."""
    fields = {"bot_id": "tp", "rule_1_enabled": "1", "take_profit_amount": "0.5"}
    assert client.post("/bots/upsert", json=fields).status_code == 200
    now = utcnow()
    bought = upload(client, "tp", "up", "10.00", now - timedelta(seconds=30))["trade"]
    held = upload(client, "tp", "up", "10.40", now - timedelta(seconds=20))["trade"]
    sold = upload(client, "tp", "up", "10.50", now - timedelta(seconds=10))["trade"]
    assert bought["direction"] == "buy" and held is None
    assert sold["direction"] == "sell" and sold["win_reason"] == "take_profit"
    assert sold["profit"] == 0.5
