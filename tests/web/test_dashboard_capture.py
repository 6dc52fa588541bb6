"""The board with real windows: the picker starts workers, cards follow the charts, a crop
dragged on the frame persists across reloads and server restarts, stop all stops them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.server import ServerProcess
from tests.support.windows import WindowLauncher
from tests.support.xvfb import wait_until
from tests.web.conftest import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.x11, pytest.mark.slow, pytest.mark.timeout(240)]

TITLE = "AAPL 189.23 - Robinhood"


def start_worker(dashboard: Dashboard, hwnd: int) -> None:
    response = dashboard.api("POST", "/api/v1/start_multi", json={"hwnd": hwnd, "interval": 0.5})
    assert response.status_code == 200, response.text


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
    dashboard.shot("picker")
    entry.locator("input[type=checkbox]").check()
    page.fill("#picker-interval", "0.5")
    page.click("#watch-selected")

    card = page.locator(f"#cards .card[data-bot='{window.hwnd}']")
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
    expect(card.locator(".fact-state dd")).to_have_text("window gone", timeout=20_000)
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
    card = page.locator(f"#cards .card[data-bot='{window.hwnd}']")
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
    # No worker after a restart: the card is the bot's, stopped, its crop kept.
    expect(card.locator(".fact-state dd")).to_have_text("stopped")
    card.locator("button.open-panel").click()
    assert_close(shown_crop(page), wanted)
    page.click("#bot-dialog [data-close]")
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
    card = page.locator(f"#cards .card[data-bot='{window.hwnd}']")
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
