"""The board with real windows: the picker starts workers, cards follow the charts, a crop
dragged on the frame persists across reloads and server restarts, stop all stops them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.images import image_bytes
from tests.server import ServerProcess
from tests.support.windows import WindowLauncher
from tests.support.xvfb import wait_until
from tests.web.conftest import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.x11, pytest.mark.slow, pytest.mark.timeout(240)]

TITLE = "AAPL 189.23 - Robinhood"


def start_worker(dashboard: Dashboard, hwnd: int) -> None:
    response = dashboard.api("POST", "/api/v1/start_multi", json={"hwnd": hwnd, "interval": 0.5})
    assert response.status_code == 200, response.text


def card_of(dashboard: Dashboard, hwnd: int) -> Any:
    """The card of the bot bound to a window (cards are keyed by bot, not by window)."""

    def bot_key() -> str | None:
        bots = dashboard.api("GET", "/api/v1/bots").json()
        return next((bot["bot"] for bot in bots if bot["hwnd"] == hwnd), None)

    wait_until(lambda: bot_key() is not None, timeout=20, what=f"a bot bound to {hwnd}")
    return dashboard.page.locator(f"#cards .card[data-bot='{bot_key()}']")


def worker_status(dashboard: Dashboard, hwnd: int) -> dict[str, Any]:
    workers = dashboard.api("GET", "/api/v1/workers").json()
    (status,) = [w["status"] for w in workers if w["hwnd"] == hwnd]
    return dict(status)


def test_start_from_the_picker_the_card_follows_the_chart_then_stop_all(
    capture_dashboard: Dashboard, chart_windows: WindowLauncher
) -> None:
    dashboard, page = capture_dashboard, capture_dashboard.page
    window = chart_windows.chart(TITLE, trend="up", animate=True, interval_ms=700)
    dashboard.signed_in()
    page.click("#open-picker")
    entry = page.locator("#windows li", has_text=re.compile(r"^AAPL [\d.]+ - Robinhood"))
    expect(entry).to_be_visible()
    expect(entry.locator(".preview img")).to_have_js_property("naturalWidth", 160)
    dashboard.shot("picker")
    entry.locator("input[type=checkbox]").check()
    page.fill("#picker-interval", "0.5")
    page.click("#watch-selected")

    card = card_of(dashboard, window.hwnd)
    expect(card).to_contain_text("AAPL")
    expect(card.locator(".fact-state dd")).to_have_text("running")
    expect(card.locator("img.thumb")).to_have_attribute("src", re.compile("^data:image/jpeg"))
    expect(card.locator(".name")).not_to_have_text("untitled window")
    # The chart keeps moving: the card's price follows it.
    first_price = card.locator(".fact-price dd").inner_text()
    expect(card.locator(".fact-price dd")).not_to_have_text(first_price, timeout=20_000)
    expect(card.locator(".fact-trend dd")).to_contain_text("up")
    dashboard.shot("card-running")

    page.click("#stop-all")
    expect(card.locator(".fact-state dd")).to_have_text("stopped")
    expect(card.locator("button.toggle")).to_have_text("Start")
    assert dashboard.api("GET", "/api/v1/workers").json() == []
    dashboard.shot("stopped-all")

    # A closed window says so on its card.
    card.locator("button.toggle").click()
    expect(card.locator(".fact-state dd")).to_have_text("running")
    chart_windows.kill(window)
    # Gone, then its bot waits for a matching window.
    gone = re.compile("window gone|waiting for window")
    expect(card.locator(".fact-state dd")).to_have_text(gone, timeout=20_000)
    dashboard.shot("window-gone")


def drag_crop(page: Any, left: float, top: float, right: float, bottom: float) -> None:
    """Drag from (left, top) to (right, bottom), given as fractions of the frame."""
    box = page.locator("#reading-overlay").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 60, box
    page.mouse.move(box["x"] + box["width"] * left, box["y"] + box["height"] * top)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * right, box["y"] + box["height"] * bottom, steps=8)
    page.mouse.up()


def shown_crop(page: Any) -> dict[str, float]:
    overlay = page.locator("#reading-overlay")
    expect(overlay).to_have_attribute("data-crop", re.compile(r"^\{"))
    text = overlay.get_attribute("data-crop")
    assert text, "no crop drawn on the frame"
    return {edge: float(value) for edge, value in json.loads(text).items()}


def assert_close(crop: dict[str, float], expected: dict[str, float], within: float = 0.02) -> None:
    for edge, value in expected.items():
        assert abs(crop[edge] - value) <= within, (edge, crop, expected)


def test_a_dragged_crop_applies_and_survives_a_reload_and_a_server_restart(
    capture_dashboard: Dashboard, capture_server: ServerProcess, chart_windows: WindowLauncher
) -> None:
    dashboard, page = capture_dashboard, capture_dashboard.page
    window = chart_windows.chart(TITLE, trend="up")
    start_worker(dashboard, window.hwnd)
    dashboard.signed_in()
    card = card_of(dashboard, window.hwnd)
    expect(card.locator(".fact-state dd")).to_have_text("running")
    card.locator("button.open-panel").click()
    expect(page.locator("#bot-dialog")).to_be_visible()
    expect(page.locator("#reading-summary")).not_to_be_empty()
    dashboard.shot("reading-before-crop")

    wanted = {"left": 0.1, "top": 0.2, "right": 0.3, "bottom": 0.1}
    drag_crop(page, 0.1, 0.2, 0.7, 0.9)
    assert_close(shown_crop(page), wanted)
    expect(page.locator("#crop-save")).to_be_enabled()
    page.click("#crop-save")
    expect(page.locator("#reading-status")).to_contain_text("Saved: crop applied")
    wait_until(
        lambda: abs(worker_status(dashboard, window.hwnd)["crop"]["right"] - 0.3) < 0.02,
        timeout=10,
        what="the worker to use the new crop",
    )
    dashboard.shot("crop-saved")

    page.reload()
    expect(page.locator("#state")).to_have_text("live")
    card.locator("button.open-panel").click()
    assert_close(shown_crop(page), wanted)
    dashboard.shot("crop-after-reload")

    capture_server.stop()
    expect(page.locator("#state")).to_have_text("reconnecting", timeout=15_000)
    capture_server.start()
    expect(page.locator("#state")).to_have_text("live", timeout=20_000)
    page.reload()
    expect(page.locator("#state")).to_have_text("live")
    # The bot was capturing: after the restart it resumes by itself, with its crop.
    expect(card.locator(".fact-state dd")).to_have_text("running", timeout=15_000)
    assert_close(worker_status(dashboard, window.hwnd)["crop"], wanted)
    card.locator("button.open-panel").click()
    assert_close(shown_crop(page), wanted)
    page.click("#bot-dialog [data-close]")
    # Stopped by hand, it stays stopped, its crop kept for the next start.
    card.locator("button.toggle").click()
    expect(card.locator(".fact-state dd")).to_have_text("stopped")
    card.locator("button.toggle").click()
    expect(card.locator(".fact-state dd")).to_have_text("running")
    assert_close(worker_status(dashboard, window.hwnd)["crop"], wanted)
    dashboard.shot("crop-after-restart")


def test_why_this_reading_says_no_frame_yet_before_the_first_capture(
    capture_dashboard: Dashboard, chart_windows: WindowLauncher
) -> None:
    """A window known as a bot but never captured: the view answers, it does not break."""
    dashboard, page = capture_dashboard, capture_dashboard.page
    window = chart_windows.chart(TITLE, trend="down")
    saved = dashboard.api(
        "POST", f"/api/v1/workers/{window.hwnd}/crop", json={"left": 0, "right": 0.2}
    )
    assert saved.status_code == 200, saved.text
    dashboard.signed_in()
    card = card_of(dashboard, window.hwnd)
    card.locator("button.open-panel").click()
    expect(page.locator("#reading-summary")).to_have_text("No frame yet.")
    assert_close(shown_crop(page), {"left": 0, "right": 0.2, "top": 0, "bottom": 0})
    # The crop editor works by keyboard too: arrows move the left and top edges.
    page.focus("#reading-overlay")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert_close(shown_crop(page), {"left": 0.05, "right": 0.2}, within=0.001)
    page.keyboard.press("Enter")
    expect(page.locator("#reading-status")).to_contain_text("Saved")
    bot = next(b for b in dashboard.api("GET", "/api/v1/bots").json() if b["hwnd"] == window.hwnd)
    assert abs(bot["meta"]["crop"]["left"] - 0.05) < 0.001
    dashboard.shot("no-frame-yet")


def reading_routes(dashboard: Dashboard) -> bool:
    """Whether this server has the reading routes (`GET /workers/{hwnd}/reading`, `/frame`)."""
    paths = dashboard.api("GET", "/openapi.json").json()["paths"]
    return "/api/v1/workers/{hwnd}/reading" in paths


CANVAS_PIXEL = """([x, y]) => {
  const canvas = document.querySelector('#reading-overlay');
  const scale = canvas.width / canvas.clientWidth;
  const at = [Math.round(x * scale), Math.round(y * scale)];
  return Array.from(canvas.getContext('2d').getImageData(at[0], at[1], 1, 1).data);
}"""


def test_why_this_reading_draws_what_the_reader_saw_by_the_contract(
    capture_dashboard: Dashboard, chart_windows: WindowLauncher, tmp_path: Path
) -> None:
    """The view against the reading contract (served here by the browser's router, so the
    drawing is checked whatever this server's version): the frame at full size, the crop,
    the traced series, the turning point and the reader's reason."""
    dashboard, page = capture_dashboard, capture_dashboard.page
    window = chart_windows.chart(TITLE, trend="up")
    start_worker(dashboard, window.hwnd)
    frame = tmp_path / "frame.png"
    frame.write_bytes(image_bytes(".png", (400, 640), seed=3))
    reading = {
        "hwnd": window.hwnd,
        "timestamp": "2026-03-02T15:00:05Z",
        "width": 640,
        "height": 400,
        "crop": {"left": 0.0, "right": 0.16, "top": 0.0, "bottom": 0.0},
        "kind": "line",
        "trend": "up",
        "confidence": 0.93,
        "reason": "last leg rises 38 px over 120 px after the low at x=300",
        "points": [[40, 300], [150, 250], [300, 350], [420, 200], [520, 120]],
        "turning_point": [300, 350],
    }
    page.route(
        f"**/api/v1/workers/{window.hwnd}/reading*",
        lambda route: route.fulfill(json=reading),
    )
    page.route(f"**/api/v1/workers/{window.hwnd}/frame*", lambda route: route.fulfill(path=frame))
    dashboard.signed_in()
    card_of(dashboard, window.hwnd).locator("button.open-panel").click()
    expect(page.locator("#reading-reason")).to_have_text(reading["reason"])
    expect(page.locator("#reading-summary")).to_have_text("\u25b2 up · line chart · confidence 93%")
    image = page.locator("#reading-frame")
    expect(image).to_have_js_property("naturalWidth", 640)
    assert "token=" in (image.get_attribute("src") or "")
    overlay = page.locator("#reading-overlay")
    box = overlay.bounding_box()
    assert box is not None
    scale = box["width"] / 640

    def pixel(x: float, y: float) -> list[int]:
        return list(page.evaluate(CANVAS_PIXEL, [x * scale, y * scale]))

    wait_until(lambda: pixel(520, 120)[3] > 0, timeout=10, what="the traced series drawn")
    r, g, b, _ = pixel(520, 120)
    assert (r, b) > (150, 150) and g < 150, (r, g, b)  # the series' magenta
    ring = [pixel(300 + dx / scale, 350) for dx in (-7, 7)]
    assert any(p[0] > 200 and 100 < p[1] < 200 and p[2] < 80 for p in ring), ring  # orange
    assert pixel(620, 50)[3] > 0 and pixel(200, 50)[3] == 0  # outside the crop is shaded
    dashboard.shot("why-this-reading")


def test_why_this_reading_on_the_servers_own_routes(
    capture_dashboard: Dashboard, chart_windows: WindowLauncher
) -> None:
    dashboard, page = capture_dashboard, capture_dashboard.page
    if not reading_routes(dashboard):
        pytest.skip("GET /api/v1/workers/{hwnd}/reading is not on this branch's server yet")
    window = chart_windows.chart(TITLE, trend="up")
    start_worker(dashboard, window.hwnd)
    wait_until(
        lambda: dashboard.api("GET", f"/api/v1/workers/{window.hwnd}/reading").status_code == 200,
        timeout=20,
        what="a reading",
    )
    reading = dashboard.api("GET", f"/api/v1/workers/{window.hwnd}/reading").json()
    dashboard.signed_in()
    card_of(dashboard, window.hwnd).locator("button.open-panel").click()
    expect(page.locator("#reading-frame")).to_have_js_property("naturalWidth", reading["width"])
    expect(page.locator("#reading-summary")).to_contain_text(reading["trend"])
    if reading["reason"]:
        expect(page.locator("#reading-reason")).to_have_text(reading["reason"])
    dashboard.shot("why-this-reading-live")
