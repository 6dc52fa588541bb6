"""Real windows on a real X server, captured by the real server, read through /workers."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import websockets

from tests.analysis.market import Market, decode_png, make_market, svg_page
from tests.analysis.test_chart_kinds import clean
from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.support.original_contract import STATUS_KEYS
from tests.support.polling import poll
from tests.support.windows import WindowLauncher
from trade_analysis.domain import Trend

pytestmark = [pytest.mark.x11]


@pytest.fixture
def desktop_server(tmp_path: Path, xvfb_display: str, database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url, "DISPLAY": xvfb_display},
    ).start()
    yield server
    server.stop()


@pytest.fixture
def api(desktop_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desktop_server.url, headers=AUTH, timeout=20) as client:
        yield client


def workers_by_hwnd(api: httpx.Client) -> dict[int, dict[str, Any]]:
    return {worker["hwnd"]: worker for worker in api.get("/workers").json()}


def readings(api: httpx.Client, hwnds: list[int]) -> dict[int, dict[str, Any]]:
    def read() -> dict[int, dict[str, Any]]:
        listed = workers_by_hwnd(api)
        return {hwnd: (listed.get(hwnd) or {}).get("last_result") or {} for hwnd in hwnds}

    return poll(read, lambda found: all(found[h].get("trend") for h in hwnds))


def test_chart_windows_are_read_even_when_covered_or_off_screen(
    api: httpx.Client, chart_windows: WindowLauncher
) -> None:
    # The line colour says nothing about the trend: a red line rises, a green one falls.
    rising = chart_windows.chart("AAPL 175.23 - MyApp", trend="up", x=10, y=10, color="#ff5000")
    falling = chart_windows.chart(
        "TSLA $250.12 | Robinhood - Google Chrome",
        trend="down",
        x=200,
        y=150,
        color="#00c805",
        theme="dark",
        grid=True,
    )
    off_screen = chart_windows.chart(
        "Amazon (AMZN) $185.07", trend="up", x=1000, y=300, color="#1e88e5", reference=True
    )
    listed = {window["hwnd"]: window for window in api.get("/windows").json()}
    assert listed[falling.hwnd]["title"] == "TSLA $250.12 | Robinhood - Google Chrome"

    hwnds = [rising.hwnd, falling.hwnd, off_screen.hwnd]
    for hwnd in hwnds:
        assert api.post("/start_multi", json={"hwnd": hwnd, "interval": 0.5}).status_code == 200
    results = readings(api, hwnds)

    assert (results[rising.hwnd]["ticker"], results[rising.hwnd]["price"]) == ("AAPL", "$175.23")
    assert results[rising.hwnd]["trend"] == "up"
    assert (results[falling.hwnd]["ticker"], results[falling.hwnd]["price_value"]) == (
        "TSLA",
        250.12,
    )
    assert results[falling.hwnd]["trend"] == "down"
    assert (results[off_screen.hwnd]["ticker"], results[off_screen.hwnd]["trend"]) == ("AMZN", "up")
    workers = workers_by_hwnd(api)
    for hwnd in hwnds:
        status = workers[hwnd]["status"]
        assert status["capture_method"] == "composite" and status["is_running"] is True
        assert workers[hwnd]["screenshot_b64"] and workers[hwnd]["bot"]["hwnd"] == hwnd
        assert set(status) >= STATUS_KEYS
    # Each window is its own bot, and its first `up` bought (stored just after it was read).
    trades = poll(lambda: api.get("/trades").json(), lambda found: "AAPL" in found["tickers"])
    (held,) = trades["tickers"]["AAPL"]["bots"].items()
    assert held[0] == workers[rising.hwnd]["bot"]["bot"] == workers[rising.hwnd]["status"]["bot"]
    assert (held[1]["position"], held[1]["entry_price"]) == ("long", 175.23)
    assert held[1]["last_price"] == 175.23 and held[1]["unrealised_pnl"] == 0


def test_a_window_that_disappears_marks_its_worker_and_spares_the_others(
    api: httpx.Client, chart_windows: WindowLauncher
) -> None:
    doomed = chart_windows.chart("NVDA 900.10 - App", trend="up", x=10, y=10)
    survivor = chart_windows.chart("MSFT 410.00 - App", trend="down", x=700, y=10)
    for window in (doomed, survivor):
        api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
    readings(api, [doomed.hwnd, survivor.hwnd])
    chart_windows.kill(doomed)

    gone = poll(
        lambda: workers_by_hwnd(api)[doomed.hwnd]["status"],
        # Gone, then parked: its bot waits for a matching window.
        lambda status: status["state"] in {"window_gone", "waiting_for_window"},
    )
    assert gone["failed_captures"] >= 1 and "window" in gone["last_error"]
    before = workers_by_hwnd(api)[survivor.hwnd]["status"]["successful_captures"]
    poll(
        lambda: workers_by_hwnd(api)[survivor.hwnd]["status"],
        lambda status: status["successful_captures"] >= before + 2 and status["state"] == "running",
    )
    assert api.get("/ping").status_code == 200


def test_capture_control_through_http(api: httpx.Client, chart_windows: WindowLauncher) -> None:
    window = chart_windows.chart("AMD 160.00 - App", trend="up", x=10, y=10)
    saved = api.post(f"/api/v1/workers/{window.hwnd}/crop", json={"left": 0.05, "right": 0.2})
    assert saved.json()["detail"] == "crop saved; applied when capture starts"

    first = api.post("/api/v1/start", json={"hwnd": window.hwnd, "interval": 0.5}).json()
    again = api.post("/api/v1/start", json={"hwnd": window.hwnd, "interval": 0.5}).json()
    assert first["crop"]["left"] == 0.05 and again["is_running"] is True
    assert len(api.get("/api/v1/workers").json()) == 1
    assert api.get("/api/v1/status").json()["target_window"]["hwnd"] == window.hwnd
    applied = api.post(f"/api/v1/workers/{window.hwnd}/crop", json={"left": 0.0, "right": 0.1})
    assert applied.json()["detail"] == "crop applied"

    assert api.post("/api/v1/start_multi", json={"hwnd": 999_999_999}).status_code == 400
    stopped = api.post("/api/v1/stop").json()
    assert stopped["is_running"] is False
    assert api.get("/api/v1/workers").json() == []
    assert api.post("/api/v1/stop_multi", json={"hwnd": window.hwnd}).status_code == 404


def test_a_window_preview_is_a_small_jpeg_of_it_and_a_closed_one_is_400(
    api: httpx.Client, chart_windows: WindowLauncher
) -> None:
    window = chart_windows.chart("ORCL 120.00 - App", trend="up", x=10, y=10, color="#00c805")
    answer = api.get(f"/api/v1/windows/{window.hwnd}/preview")
    assert answer.status_code == 200, answer.text
    jpeg = base64.b64decode(answer.json()["jpeg_b64"])
    pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert pixels.shape[1] == 160 and pixels.shape[0] == 100  # 640x400, scaled
    # The chart's green line is in it (thinned and blended with white by the scaling).
    blue, green, red = (pixels[:, :, i].astype(int) for i in range(3))
    assert int(((green - red > 30) & (green - blue > 30)).sum()) > 40
    assert api.get("/workers").json() == []  # a preview starts no worker
    chart_windows.kill(window)
    # The X server drops a killed client's windows a moment later.
    gone = poll(
        lambda: api.get(f"/api/v1/windows/{window.hwnd}/preview"),
        lambda answer: answer.status_code != 200,
    )
    assert gone.status_code == 400 and f"{window.hwnd:#x}" in gone.json()["detail"]


CHART_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>html, body {{ margin: 0; background: #ffffff; overflow: hidden; }}</style>
</head><body><canvas id="c" width="760" height="520"></canvas><script>
const ctx = document.getElementById("c").getContext("2d");
const points = []; let v = 50;
for (let i = 0; i < 60; i++) {{ v += (i < 35 ? 0.9 : -1.3) + Math.sin(i) * 0.3; points.push(v); }}
const lo = Math.min(...points), hi = Math.max(...points);
ctx.fillStyle = "#00c805"; ctx.font = "28px sans-serif"; ctx.fillText("$250.12", 20, 30);
ctx.strokeStyle = "#00c805"; ctx.lineWidth = 2; ctx.beginPath();
points.forEach((p, i) => {{
  const x = 20 + i * 580 / 59, y = 60 + (hi - p) / (hi - lo) * 420;
  i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
}});
ctx.stroke();
</script></body></html>
"""


@pytest.mark.browser
def test_a_chromium_chart_tab_is_read_through_workers(
    api: httpx.Client, chart_windows: WindowLauncher
) -> None:
    title = "TSLA $250.12 | Robinhood"
    window = chart_windows.chromium(CHART_PAGE.format(title=title), title)
    api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
    result = readings(api, [window.hwnd])[window.hwnd]
    assert (result["ticker"], result["price_value"], result["trend"]) == ("TSLA", 250.12, "down")


@pytest.mark.slow
def test_twenty_windows_at_one_second_never_fall_behind_an_interval(
    api: httpx.Client, chart_windows: WindowLauncher
) -> None:
    windows = [
        chart_windows.chart(
            f"T{chr(65 + i // 26)}{chr(65 + i % 26)} {100 + i}.50 - App",
            trend="up" if i % 2 else "down",
            x=(i % 5) * 250,
            y=(i // 5) * 190,
            width=320,
            height=200,
            animate=True,
        )
        for i in range(20)
    ]
    for window in windows:
        api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 1.0})
    time.sleep(30)
    workers = workers_by_hwnd(api)
    for window in windows:
        status = workers[window.hwnd]["status"]
        assert status["max_lag_seconds"] < 1.0, status
        assert status["successful_captures"] >= 28, status


def test_a_new_live_client_gets_every_window_thumbnail_in_hello(
    api: httpx.Client, desktop_server: ServerProcess, chart_windows: WindowLauncher
) -> None:
    window = chart_windows.chart("INTC 30.10 - App", trend="down", x=10, y=10)
    api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
    readings(api, [window.hwnd])

    async def hello() -> dict[str, Any]:
        url = desktop_server.url.replace("http", "ws") + f"/api/v1/ws?token={TEST_KEY}"
        async with websockets.connect(url) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    message = asyncio.run(hello())
    assert message["type"] == "hello"
    jpeg = base64.b64decode(message["data"]["frames"][str(window.hwnd)])
    assert jpeg.startswith(b"\xff\xd8")  # a window that never changes again still shows


def _chart_page(market: Market, title: str) -> str:
    return svg_page(market).replace(
        "<head>", f'<head><meta charset="utf-8"><title>{title}</title>', 1
    )


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["candles", "bars"])
def test_a_chromium_candle_chart_is_read_and_its_trace_served(
    api: httpx.Client, chart_windows: WindowLauncher, kind: str
) -> None:
    """A real Chromium window (infobar and all) over a page we render: kind, trend and trace."""
    market = clean(make_market(2, kind, Trend.DOWN), width=760, height=520)
    title = f"NVDA $900.10 | {kind}"
    window = chart_windows.chromium(_chart_page(market, title), title, width=800, height=600)
    hwnd = window.hwnd
    missing = api.get(f"/api/v1/workers/{hwnd}/reading")
    assert missing.status_code == 404 and str(hwnd) in missing.json()["detail"]
    api.post("/start_multi", json={"hwnd": hwnd, "interval": 0.5})
    result = readings(api, [hwnd])[hwnd]
    assert (result["trend"], result["kind"]) == ("down", kind), result
    assert result["reason"]

    reading = api.get(f"/api/v1/workers/{hwnd}/reading").json()
    assert api.get(f"/workers/{hwnd}/reading").status_code == 200  # the seed path too
    assert (reading["hwnd"], reading["kind"], reading["trend"]) == (hwnd, kind, "down")
    frame = api.get(f"/api/v1/workers/{hwnd}/frame")
    assert frame.headers["content-type"] == "image/png"
    pixels = decode_png(frame.content)
    assert pixels.shape[:2] == (reading["height"], reading["width"])
    # The trace lies on the candles: near each point is ink, not the page's background.
    background = np.array(market.background[::-1], np.int16)
    ink = np.abs(pixels.astype(np.int16) - background).max(axis=2) > 40
    # (a close is at a body's edge or a tick's end: allow half a candle's step)
    step = round(market.width / market.closes.size)
    near = cv2.dilate(ink.astype(np.uint8), np.ones((7, step), np.uint8))
    points = np.array(reading["points"])
    # One close per candle or bar (candles that touch are read as one).
    assert len(points) >= 0.75 * market.closes.size
    xs, ys = points[:, 0].astype(int), points[:, 1].astype(int)
    assert near[ys, xs].mean() > 0.8
    # Full-frame coordinates, inside the area read: with a crop nobody set that is the whole
    # frame, so the newest candles count though the wire still shows the original's right 0.16.
    left, top, right, bottom = reading["area"]
    assert left <= xs.min() and xs.max() <= right and top <= ys.min() and ys.max() <= bottom
    assert reading["crop"]["right"] == 0.16
    assert xs.max() > reading["width"] * (1 - reading["crop"]["right"])
    turning = reading["turning_point"]
    assert turning is not None and xs.min() <= turning[0] <= xs.max()
    assert api.get("/api/v1/workers/1/frame").status_code == 404
