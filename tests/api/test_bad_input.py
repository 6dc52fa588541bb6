"""Bad input gets a 4xx naming the field, on SQLite and PostgreSQL; never a 500.

Each case here is one a review found answering 500 or storing something empty:
deep nesting, NUL characters (PostgreSQL refuses them in text), huge numbers,
times in the future, uploads with nothing to store, and truncated images.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.images import image_bytes
from trade_analysis.domain import to_wire, utcnow

DEEP = 100_000  # deeper than Python's recursion limit
SIGNAL = {"ticker": "AAPL", "price": "187.50", "trend": "up"}


def assert_names(response, field: str, status: int = 422) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert field in response.text, response.text


def history_count(client: TestClient) -> int:
    return int(client.get("/history").headers["x-total-count"])


@pytest.mark.parametrize(
    "meta",
    [
        '{"a": ' + "[" * 30_000 + "]" * 30_000 + "}",  # within meta's 64 KiB
        '{"a": ' + '{"b": ' * 40 + "1" + "}" * 40 + "}",
        json.dumps({"note": "a\u0000b"}),
        json.dumps({"a\u0000": 1}),
        '{"big": 1e400}',
        '{"nan": NaN}',
        '{"huge": ' + "9" * 5000 + "}",
    ],
    ids=["deeper-than-recursion", "deeper-than-32", "nul-value", "nul-key", "inf", "nan", "digits"],
)
def test_ingest_meta_that_cannot_be_stored_is_422(client: TestClient, meta: str) -> None:
    response = client.post("/ingest", data={**SIGNAL, "meta": meta})
    assert_names(response, "meta")
    assert history_count(client) == 0


@pytest.mark.parametrize("field", ["name", "price", "trend"])
def test_nul_in_an_ingest_text_field_is_422(client: TestClient, field: str) -> None:
    response = client.post("/ingest", data={**SIGNAL, "name": "x", field: "up\u0000"})
    assert_names(response, field)


@pytest.mark.parametrize("price", ["1e400", "9" * 400, "-5", "0"])
def test_ingest_price_out_of_range_is_422(client: TestClient, price: str) -> None:
    assert_names(client.post("/ingest", data={**SIGNAL, "price": price}), "price")


@pytest.mark.parametrize("path", ["/ingest", "/manual_trade"])
def test_a_time_more_than_minutes_ahead_is_422_naming_ts(client: TestClient, path: str) -> None:
    ahead = to_wire(utcnow() + timedelta(hours=1))
    if path == "/ingest":
        response = client.post(path, data={**SIGNAL, "ts": ahead})
    else:
        response = client.post(
            path, json={"ticker": "AAPL", "price": "1", "direction": "buy", "ts": ahead}
        )
    assert_names(response, "ts")
    assert "future" in response.text


def test_a_clock_a_little_ahead_is_accepted(client: TestClient) -> None:
    slightly = to_wire(utcnow() + timedelta(seconds=30))
    assert client.post("/ingest", data={**SIGNAL, "ts": slightly}).status_code == 200


def test_ingest_without_any_body_is_422_naming_what_is_missing(client: TestClient) -> None:
    response = client.post("/ingest")
    assert_names(response, "file")
    for field in ("ticker", "price", "trend"):
        assert field in response.text
    assert history_count(client) == 0


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"name": "just a name"}, ["file", "ticker", "price", "trend"]),
        ({"ticker": "AAPL"}, ["price", "trend"]),
        ({"ticker": "AAPL", "price": "1"}, ["trend"]),
        ({"price": "1", "trend": "down"}, ["ticker"]),
    ],
)
def test_ingest_without_an_image_needs_ticker_price_and_trend(
    client: TestClient, fields: dict[str, str], missing: list[str]
) -> None:
    response = client.post("/ingest", data=fields)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [error["loc"][-1] for error in detail] == missing
    assert history_count(client) == 0


def test_a_png_cut_short_is_422_and_nothing_is_stored(client: TestClient) -> None:
    cut = image_bytes(seed=3)[:100]
    response = client.post("/ingest", files={"file": ("f.png", cut, "image/png")}, data=SIGNAL)
    assert_names(response, "file")
    assert "decode" in response.text or "truncated" in response.text
    assert history_count(client) == 0
    assert client.get("/trades").json()["all_trades"] == []


def test_a_whole_image_alone_is_enough(client: TestClient) -> None:
    response = client.post("/ingest", files={"file": ("f.png", image_bytes(seed=4), "image/png")})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        '{"ticker": "AAPL", "price": "1", "direction": "buy", "meta": {"a": '
        + "[" * DEEP
        + "]" * DEEP
        + "}}",
        json.dumps({"ticker": "AAPL", "price": "1", "direction": "buy", "meta": {"n": "\u0000"}}),
        '{"ticker": "AAPL", "price": "1", "direction": "buy", "meta": {"x": 1e400}}',
        json.dumps({"ticker": "AAPL", "price": "1e400", "direction": "buy"}),
        json.dumps({"ticker": "AAPL", "price": 10**400, "direction": "buy"}),
        json.dumps({"ticker": "AAPL", "price": "1", "direction": "buy", "bot": "a\u0000b"}),
    ],
    ids=["deep-meta", "nul-meta", "inf-meta", "huge-price-text", "huge-price-number", "nul-bot"],
)
def test_manual_trade_bad_input_is_4xx(client: TestClient, body: str) -> None:
    response = client.post(
        "/manual_trade", content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert client.get("/trades").json()["all_trades"] == []


@pytest.mark.parametrize(
    "settings_body",
    [
        {"title_pattern": "(?P<ticker>\u0000)"},
        {"rules": {"exchange_timezone": "Europe/\u0000"}},
        '{"rules": {"take_profit": 1e400}}',
        '{"rules": {"take_profit": NaN}}',
        {"rules": {"take_profit": 10**400}},
    ],
    ids=["nul-pattern", "nul-zone", "inf", "nan", "huge"],
)
def test_bot_settings_bad_input_is_422(client: TestClient, settings_body: dict | str) -> None:
    body = settings_body if isinstance(settings_body, str) else json.dumps(settings_body)
    response = client.put(
        "/bots/12345/settings", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("hwnd", [10**30, -(10**30)])
def test_huge_window_ids_are_not_windows(client: TestClient, hwnd: int) -> None:
    assert 400 <= client.delete(f"/bots/{hwnd}").status_code < 500
    assert 400 <= client.post("/stop_multi", json={"hwnd": hwnd}).status_code < 500
    assert client.post("/start_multi", json={"hwnd": hwnd}).status_code == 422
    # A bot may be named by digits (an upload source): its settings save, as no window's.
    saved = client.put(f"/bots/{hwnd}/settings", json={"ocr": False})
    assert saved.status_code in {200, 422}, saved.text


@pytest.mark.parametrize(
    "params",
    [{"ticker": "A\u0000"}, {"start_ts": "9999-12-31T23:59:59-14:00"}, {"offset": 10**30}],
)
def test_history_queries_out_of_range_are_422(client: TestClient, params: dict) -> None:
    assert client.get("/history", params=params).status_code == 422
