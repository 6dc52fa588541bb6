"""The original backend's own client, unchanged: query parameters, its keys and meanings.

Every call in ORIGINAL.md's wire-contract table, made the way its front end made
it, against a real server process (SQLite, or PostgreSQL when TEST_DATABASE_URL
is set) capturing real Tk chart windows on Xvfb. The only change a client of the
original needs is the key (`Authorization: Bearer`, `?token=` on the WebSocket).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import AUTH, TEST_KEY
from tests.images import image_bytes
from tests.server import ServerProcess
from tests.support.original_contract import (
    LAST_RESULT_KEYS,
    RECORD_KEYS,
    STATUS_KEYS,
    TICKER_KEYS,
    TRADE_KEYS,
)
from tests.support.polling import poll
from tests.support.windows import WindowLauncher

pytestmark = [pytest.mark.timeout(180)]


def _server(tmp_path: Path, database_url: str, display: str | None) -> Iterator[ServerProcess]:
    env = {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}
    if display is not None:
        env["DISPLAY"] = display
    server = ServerProcess(tmp_path / "data", env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def desktop(tmp_path: Path, database_url: str, xvfb_display: str) -> Iterator[ServerProcess]:
    yield from _server(tmp_path, database_url, xvfb_display)


@pytest.fixture
def headless(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    yield from _server(tmp_path, database_url, None)


def client_of(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=AUTH, timeout=20)


def worker_of(api: httpx.Client, hwnd: int) -> dict[str, Any]:
    return next((w for w in api.get("/workers").json() if w["hwnd"] == hwnd), {})


def read_by_worker(api: httpx.Client, hwnd: int) -> dict[str, Any]:
    return poll(
        lambda: worker_of(api, hwnd), lambda w: bool((w.get("last_result") or {}).get("trend"))
    )


def named_in_detail(response: httpx.Response, name: str) -> bool:
    return name in json.dumps(response.json()["detail"])


# -- capture, its settings, and the legacy single capture ------------------------------


@pytest.mark.x11
def test_capture_routes_with_query_parameters(
    desktop: ServerProcess, chart_windows: WindowLauncher
) -> None:
    window = chart_windows.chart("AAPL 175.23 - MyApp", trend="up", x=10, y=10)
    other = chart_windows.chart("MSFT 410.00 - MyApp", trend="down", x=680, y=10)
    with client_of(desktop) as api:
        listed = {w["hwnd"]: w for w in api.get("/windows").json()}
        assert {"hwnd", "title", "process"} <= set(listed[window.hwnd])
        assert listed[window.hwnd]["title"] == "AAPL 175.23 - MyApp"

        idle = api.get("/status").json()
        assert set(idle) >= STATUS_KEYS and idle["is_running"] is False

        missing = api.post("/start_multi", params={"interval": 1})
        assert missing.status_code in (400, 422) and named_in_detail(missing, "hwnd")

        started = api.post("/start_multi", params={"hwnd": window.hwnd, "interval": 0.5})
        assert started.status_code == 200, started.text
        assert started.json()["started"] is True and started.json()["hwnd"] == window.hwnd

        worker = read_by_worker(api, window.hwnd)
        assert set(worker) >= {"hwnd", "status", "last_result", "screenshot_b64", "bot"}
        assert set(worker["status"]) >= STATUS_KEYS and worker["status"]["is_running"] is True
        result = worker["last_result"]
        assert set(result) >= LAST_RESULT_KEYS
        assert (result["ticker"], result["price"], result["price_value"]) == (
            "AAPL",
            "$175.23",
            175.23,
        )
        assert result["trend"] == "up"
        assert base64.b64decode(worker["screenshot_b64"]).startswith(b"\xff\xd8")

        # Global crop: only the edges given change; all four come back.
        crop = api.post("/settings/crop", params={"left": 0.1}).json()
        assert crop == {"left": 0.1, "right": 0.16, "top": 0.0, "bottom": 0.0} | {
            k: v for k, v in crop.items() if k not in {"left", "right", "top", "bottom"}
        }
        crop = api.post("/settings/crop", params={"top": 0.05}).json()
        assert (crop["left"], crop["right"], crop["top"], crop["bottom"]) == (0.1, 0.16, 0.05, 0.0)
        bad = api.post("/settings/crop", params={"left": 1.5})
        assert bad.status_code in (400, 422) and named_in_detail(bad, "left")
        factor = api.post("/settings/crop_factor", params={"factor": 0.05}).json()
        assert [factor[e] for e in ("left", "right", "top", "bottom")] == [0.05] * 4
        # A JSON body is accepted on the same path too.
        again = api.post("/settings/crop", json={"left": 0.0, "right": 0.16, "top": 0, "bottom": 0})
        assert again.status_code == 200 and again.json()["right"] == 0.16

        assert (
            api.post("/settings/line_detect", params={"enabled": "false"}).json()["enabled"]
            is False
        )
        assert (
            api.post("/settings/line_detect", params={"enabled": "true"}).json()["enabled"] is True
        )
        fg = api.post("/settings/bring_to_foreground", params={"enabled": "false"}).json()
        assert fg["bring_to_foreground"] is False

        own = api.post(f"/workers/{window.hwnd}/crop", params={"left": 0.02}).json()
        assert (own["hwnd"], own["left"], own["right"], own["top"], own["bottom"]) == (
            window.hwnd,
            0.02,
            0.16,
            0.0,
            0.0,
        )
        saved = api.post(f"/workers/{other.hwnd}/crop", params={"bottom": 0.1}).json()
        assert saved["applied"] == "persisted" and saved["bottom"] == 0.1 and saved["right"] == 0.16
        bad_edge = api.post(f"/workers/{other.hwnd}/crop", params={"top": 2})
        assert bad_edge.status_code in (400, 422) and named_in_detail(bad_edge, "top")

        stopped = api.post("/stop_multi", params={"hwnd": window.hwnd})
        assert stopped.json() == stopped.json() | {"stopped": True, "hwnd": window.hwnd}
        assert api.post("/stop_multi", params={"hwnd": window.hwnd}).status_code == 404

        # The legacy single capture: /start, /status, /stop.
        legacy = api.post("/start", params={"hwnd": window.hwnd, "interval": 0.5})
        assert legacy.status_code == 200, legacy.text
        assert legacy.json()["started"] is True and "bring_to_foreground" in legacy.json()
        assert api.post("/start", params={"interval": 1}).status_code in (400, 422)
        running = api.get("/status").json()
        assert set(running) >= STATUS_KEYS and running["is_running"] is True
        assert running["target_window"]["hwnd"] == window.hwnd
        assert api.post("/stop").json()["stopped"] is True
        assert api.get("/status").json()["is_running"] is False

        for hwnd in (window.hwnd, other.hwnd):
            api.post("/start_multi", params={"hwnd": hwnd, "interval": 0.5})
        everything = api.post("/stop_all_workers").json()
        assert sorted(everything["stopped"]) == sorted([window.hwnd, other.hwnd])
        assert everything["count"] == 2
        assert api.get("/workers").json() == []


@pytest.mark.x11
def test_results_csv_and_deleting_a_bot_that_is_being_captured(
    desktop: ServerProcess, chart_windows: WindowLauncher, tmp_path: Path
) -> None:
    window = chart_windows.chart("NVDA 900.10 - App", trend="up", x=10, y=10, animate=True)
    with client_of(desktop) as api:
        api.post("/start_multi", params={"hwnd": window.hwnd, "interval": 0.5})
        read_by_worker(api, window.hwnd)
        folder = desktop.data_dir / "screenshots" / f"hwnd_{window.hwnd}"
        results = folder / "results.csv"

        def rows() -> list[dict[str, str]]:
            with results.open(newline="") as stream:
                return list(csv.DictReader(stream))

        poll(lambda: results.exists() and len(rows()), lambda n: n and n >= 2)
        found = rows()
        assert list(found[0]) == ["timestamp", "image_path", "name", "ticker", "price", "trend"]
        assert {row["ticker"] for row in found} == {"NVDA"}
        # The animated window moves the price in its title, so on a loaded machine the first
        # stored row may already carry a later price: each is the title's, as dollars.
        prices = [row["price"] for row in found]
        assert all(re.fullmatch(r"\$\d+\.\d{2}", price) for price in prices), prices
        assert abs(float(prices[0][1:]) - 900.10) < 900.10 * 0.2, prices
        assert all(Path(row["image_path"]).parent == folder for row in found)

        replayed = subprocess.run(
            [sys.executable, "-m", "trade_analysis", "replay", str(results)],
            capture_output=True,
            text=True,
            check=True,
        )
        trades = json.loads(replayed.stdout)["trades"]
        assert trades and trades[0]["ticker"] == "NVDA" and trades[0]["side"] == "buy"

        # Its first `up` bought; deleting the bot stops its worker and keeps its trades.
        poll(lambda: api.get("/trades").json()["tickers"], lambda t: "NVDA" in t)
        deleted = api.delete(f"/bots/{window.hwnd}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == deleted.json() | {"deleted": True, "hwnd": window.hwnd}
        assert api.get("/workers").json() == []
        assert not folder.exists()
        assert all(bot["hwnd"] != window.hwnd for bot in api.get("/bots").json())
        assert api.get("/trades").json()["tickers"]["NVDA"]["trade_history"]


@pytest.mark.x11
def test_the_snapshot_stream_carries_the_legacy_status(
    desktop: ServerProcess, chart_windows: WindowLauncher
) -> None:
    window = chart_windows.chart("AMD 160.00 - App", trend="up", x=10, y=10)
    with client_of(desktop) as api:
        idle = asyncio.run(_first_snapshot(desktop, "/ws"))
        assert set(idle) >= {"timestamp", "status", "workers", "trade_summary", "screenshot_b64"}
        assert set(idle["status"]) >= STATUS_KEYS and idle["status"]["is_running"] is False

        api.post("/start", params={"hwnd": window.hwnd, "interval": 0.5})
        read_by_worker(api, window.hwnd)
        for path in ("/ws", "/"):
            snapshot = asyncio.run(_first_snapshot(desktop, path))
            assert snapshot["status"]["is_running"] is True
            assert snapshot["status"]["target_window"]["hwnd"] == window.hwnd
            (worker,) = snapshot["workers"]
            assert set(worker) >= {"hwnd", "status", "screenshot_b64", "last_result"}
            assert worker["last_result"]["ticker"] == "AMD"
            assert base64.b64decode(snapshot["screenshot_b64"]).startswith(b"\xff\xd8")
            assert set(snapshot["trade_summary"]) >= {"tickers", "total_pnl_all_tickers"}


async def _first_snapshot(server: ServerProcess, path: str) -> dict[str, Any]:
    url = server.url.replace("http://", "ws://") + f"{path}?token={TEST_KEY}"
    async with websockets.connect(url) as socket:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 10))
        return message


# -- the ledger: uploads, history, trades, bots ---------------------------------------


def test_ledger_routes_speak_the_original_keys(headless: ServerProcess) -> None:
    with client_of(headless) as api:
        pong = httpx.get(headless.url + "/ping").json()  # no key needed
        assert pong["ok"] is True and pong["ts"].endswith("Z")

        empty = api.get("/latest")
        assert (empty.status_code, empty.json()) == (404, {"detail": "no records"})

        uploaded = api.post(
            "/ingest",
            files={"file": ("chart.png", image_bytes(), "image/png")},
            data={
                "name": "Apple",
                "ticker": "AAPL",
                "price": "$189.23",
                "trend": "up",
                "meta": '{"source": "desk-2"}',
            },
        )
        assert uploaded.status_code == 200, uploaded.text
        answer = uploaded.json()
        assert {"id", "image_url", "ts"} <= set(answer) and answer["ts"].endswith("Z")
        assert api.get(answer["image_url"]).content == image_bytes()

        latest = api.get("/latest").json()
        assert set(latest) >= RECORD_KEYS
        history = api.get("/history", params={"days": 7}).json()
        # The later /history adds trade_id, bot_id, bot_name and screenshots to the record.
        assert history[0].items() >= latest.items()
        assert {"trade_id", "bot_id", "bot_name", "screenshots"} <= set(history[0])
        (seen,) = [r for r in history if r["id"] == answer["id"]]
        assert (seen["price"], seen["trend"], seen["image_url"]) == (
            "$189.23",
            "up",
            answer["image_url"],
        )
        assert isinstance(seen["meta"], str) and json.loads(seen["meta"]) == {"source": "desk-2"}
        # The `up` bought: a trade record with trend `buy`.
        (bought,) = [r for r in history if r["trend"] in ("buy", "sell")]
        assert (bought["trend"], bought["buy_price"], bought["ticker"]) == ("buy", 189.23, "AAPL")
        assert isinstance(bought["meta"], str)

        bought_msft = api.post(
            "/manual_trade", json={"ticker": "MSFT", "price": "410.00", "direction": "buy"}
        )
        assert bought_msft.status_code == 200 and bought_msft.json()["ok"] is True
        sold = api.post(
            "/manual_trade", json={"ticker": "MSFT", "price": 412.5, "direction": "sell"}
        )
        assert sold.status_code == 200 and sold.json()["ok"] is True
        # `down` while long is a signal the simulator acts on: AAPL bought at 189.23 sells.
        signal = api.post(
            "/manual_trade", json={"ticker": "AAPL", "price": 188.0, "direction": "down"}
        )
        assert signal.status_code == 200 and signal.json()["ok"] is True

        summary = api.get("/trades").json()
        assert set(summary) >= {"tickers", "total_pnl_all_tickers", "all_trades"}
        msft = summary["tickers"]["MSFT"]
        assert set(msft) >= TICKER_KEYS
        assert (msft["position"], msft["wins"], msft["win_rate"]) == ("flat", 1, 100.0)
        assert msft["last_direction"] == "sell" and msft["last_trade"]["direction"] == "sell"
        assert msft["total_pnl"] == 2.5
        aapl = summary["tickers"]["AAPL"]
        assert (aapl["losses"], aapl["win_rate"], aapl["last_direction"]) == (1, 0.0, "sell")
        assert [t["direction"] for t in aapl["trade_history"]] == ["buy", "sell"]
        for entry in summary["all_trades"]:
            assert set(entry) >= TRADE_KEYS
        assert [t["profit"] for t in summary["all_trades"] if t["ticker"] == "MSFT"] == [None, 2.5]
        assert summary["total_pnl_all_tickers"] == pytest.approx(2.5 - 1.23)

        bots = api.get("/bots").json()
        assert bots and all(isinstance(bot["meta"], dict) for bot in bots)


def test_history_without_limit_returns_every_match_and_the_count(
    headless: ServerProcess,
) -> None:
    with client_of(headless) as api:
        for index in range(130):
            response = api.post(
                "/ingest", data={"ticker": "HIST", "price": f"{100 + index}.00", "trend": "none"}
            )
            assert response.status_code == 200
        everything = api.get("/history", params={"ticker": "HIST"})
        assert everything.headers["X-Total-Count"] == "130"
        assert len(everything.json()) == 130
        prices = [row["price"] for row in everything.json()]
        assert prices[0] == "229.00" and prices[-1] == "100.00"  # newest first, text as sent
        page = api.get("/history", params={"ticker": "HIST", "limit": 5})
        assert len(page.json()) == 5 and page.headers["X-Total-Count"] == "130"
        assert api.get("/history", params={"trend": "none", "days": 1}).json()


def test_every_route_but_ping_needs_the_key(headless: ServerProcess) -> None:
    calls = [
        ("GET", "/windows"),
        ("POST", "/start_multi?hwnd=1"),
        ("POST", "/stop_all_workers"),
        ("GET", "/status"),
        ("GET", "/workers"),
        ("POST", "/settings/crop?left=0.1"),
        ("GET", "/latest"),
        ("GET", "/history"),
        ("GET", "/trades"),
        ("GET", "/bots"),
        ("DELETE", "/bots/1"),
    ]
    for method, path in calls:
        assert httpx.request(method, headless.url + path).status_code == 401, path
    assert httpx.get(headless.url + "/ping").status_code == 200
