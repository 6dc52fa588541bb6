"""Signing in, the live board and its totals, the page's contract (policy, no outside requests)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.web.conftest import Dashboard

pytestmark = [pytest.mark.browser]


def ingest(server: ServerProcess, **fields: str) -> None:
    response = httpx.post(server.url + "/ingest", headers=AUTH, data=fields, timeout=15)
    assert response.status_code == 200, response.text


def test_a_wrong_key_is_told_then_the_right_one_signs_in_and_out(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="desk-2", ticker="TSLA", price="250.12", trend="up")
    dashboard.sign_in("not-the-key")
    expect(page.locator("#signin-error")).to_have_text("Wrong API key.")
    expect(page.locator("#state")).to_have_text("wrong API key")
    expect(page.locator("#cards .card")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('ta-key')") is None
    dashboard.shot("wrong-key")

    page.fill("#key", TEST_KEY)
    page.press("#key", "Enter")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#signin-error")).to_be_empty()
    card = page.locator("#cards .card[data-bot=desk-2]")
    expect(card).to_contain_text("TSLA")
    expect(card).to_contain_text("long TSLA @ 250.12")
    dashboard.shot("signed-in")

    page.reload()  # the key stays for this tab
    expect(page.locator("#state")).to_have_text("live")
    page.click("#sign-out")
    expect(page.locator("#connect")).to_be_visible()
    expect(page.locator("#state")).to_have_text("signed out")
    assert page.evaluate("sessionStorage.getItem('ta-key')") is None


def test_trades_and_marks_appear_live_with_signs_and_dates(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    dashboard.signed_in()
    for price, trend in [("100.00", "up"), ("104.25", "down"), ("101", "up"), ("151.50", "up")]:
        ingest(server, bot="w1", name="Apple chart", ticker="AAPL", price=price, trend=trend)
    expect(page.locator("#total-pnl")).to_have_text("+4.25")
    # The open position bought at 101 is marked at 151.50: the page shows it, not 0.00.
    expect(page.locator("#total-unrealised")).to_have_text("+50.50")
    card = page.locator("#cards .card[data-bot=w1]")
    expect(card.locator(".name")).to_have_text("Apple chart")
    expect(card).to_contain_text("+50.50 (+50.00%)")
    dashboard.shot("board-live")

    dashboard.view("trades")
    rows = page.locator("#trades tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("sell")
    expect(rows.nth(1)).to_contain_text("+4.25")
    # Times carry the date; bots are shown by name.
    expect(rows.first.locator("td").first).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    )
    expect(rows.first).to_contain_text("Apple chart")
    ticker = page.locator("#tickers tr[data-ticker=AAPL]")
    expect(ticker).to_contain_text("+4.25")
    expect(ticker).to_contain_text("100%")
    position = page.locator("#positions tr[data-ticker=AAPL]")
    expect(position).to_contain_text("151.50")
    expect(position).to_contain_text("+50.00%")
    # Numbers are right-aligned.
    align = position.locator("td.num").first.evaluate("td => getComputedStyle(td).textAlign")
    assert align == "right"
    dashboard.shot("trades-live")


def test_an_open_position_moving_shows_on_the_equity_chart_marked_to_market(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="w1", name="Acme chart", ticker="ACME", price="100.00", trend="up")
    dashboard.signed_in()
    dashboard.view("trades")
    chart = page.locator("#equity")
    # Bought, nothing closed: no realised line yet, the marked one starts at the entry.
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-points", "0")
    expect(chart).to_have_attribute("data-last-marked", "0")
    ingest(server, bot="w1", ticker="ACME", price="150.00", trend="up")
    expect(page.locator("#trades-unrealised")).to_have_text("+50.00")
    expect(chart).to_have_attribute("data-last-marked", "50")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend")).to_contain_text("Marked to market")
    dashboard.shot("equity-marked-to-market")

    ingest(server, bot="w1", ticker="ACME", price="90.00", trend="down")  # sold at a loss
    expect(page.locator("#trades-realised")).to_have_text("\u221210.00")
    expect(chart).to_have_attribute("data-points", "2")
    expect(chart).to_have_attribute("data-last", "-10")
    expect(chart).to_have_attribute("data-last-marked", "-10")


def test_a_reload_draws_the_board_first_and_the_other_views_after(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="w1", name="Acme chart", ticker="ACME", price="100.00", trend="up")
    dashboard.signed_in()
    page.reload()  # the key is in the tab: boot.js starts /bots and the socket at once
    page.wait_for_function("() => performance.getEntriesByName('ta:first-board').length > 0")
    expect(page.locator("#cards .card[data-bot=w1]")).to_contain_text("long ACME @ 100.00")
    expect(page.locator("#state")).to_have_text("live")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    board_at = page.evaluate("performance.getEntriesByName('ta:first-board')[0].startTime")
    # The other views, then the whole trade list, load when the browser is idle after the
    # first board; an entry appears once its resource has loaded, so wait for the last one.
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => /trades\\?limit/.test(e.name))"
    )
    later = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(e => /trades\\.js|history\\.js|trades\\?limit/.test(e.name))
            .map(e => e.startTime)"""
    )
    assert any(name.endswith("/js/boot.js") for name in loaded), loaded
    # Or, were the socket's hello slow (a loaded machine), 2 s after /bots answered.
    bots_at = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .find(e => /\\/bots($|\\?)/.test(e.name)).responseEnd"""
    )
    assert later and min(later) >= min(board_at, bots_at + 2000), (later, board_at, bots_at)
    dashboard.view("trades")
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    expect(page.locator("#equity canvas")).to_have_count(1)  # uPlot, loaded when first needed

    # A key that no longer works (rotated meanwhile) is told the same way on a reload.
    page.evaluate("sessionStorage.setItem('ta-key', 'an-old-key')")
    page.reload()
    expect(page.locator("#signin-error")).to_have_text("Wrong API key.")
    expect(page.locator("#connect")).to_be_visible()
    expect(page.locator("#cards .card")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('ta-key')") is None
    dashboard.shot("reload-with-an-old-key")


def test_a_ticker_without_a_closed_trade_shows_no_win_rate(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    ingest(server, bot="w1", ticker="NVDA", price="1234.56", trend="up")
    dashboard.signed_in()
    dashboard.view("trades")
    row = dashboard.page.locator("#tickers tr[data-ticker=NVDA]")
    expect(row).to_contain_text("long")
    assert row.locator("td").last.inner_text() == ""
    expect(row).to_contain_text("1,234.56")


def test_a_dropped_connection_resyncs_from_hello_without_duplicates(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="w1", ticker="AMD", price="10", trend="up")
    dashboard.signed_in()
    dashboard.view("trades")
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    # The socket drops (a network blip): the page reconnects by itself.
    page.evaluate("window.dashboard.socket.close(4000, 'test')")
    expect(page.locator("#state")).to_have_text("reconnecting")
    ingest(server, bot="w1", ticker="AMD", price="12", trend="down")
    expect(page.locator("#state")).to_have_text("live", timeout=15_000)
    expect(page.locator("#trades tbody tr")).to_have_count(2)
    page.wait_for_timeout(500)
    expect(page.locator("#trades tbody tr")).to_have_count(2)
    dashboard.shot("resynced")


def test_keyboard_reaches_every_view_with_a_visible_focus(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.signed_in()
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return [e.tagName, e.textContent.trim().slice(0, 20),"
                " getComputedStyle(e).outlineStyle]; }"
            )
        )
    names = [text for _tag, text, _outline in focused]
    assert {"Bots", "Trades & P&L", "History", "Settings", "Add windows"} <= set(names), names
    # (BODY: the focus left the page for the browser's own controls and came back.)
    assert all(outline != "none" for tag, _text, outline in focused if tag != "BODY"), focused
    page.focus("#tabs a[data-view=history]")
    page.keyboard.press("Enter")
    expect(page.locator("#view-history")).to_be_visible()
    dashboard.shot("keyboard-history")


def test_the_page_fits_a_phone(dashboard: Dashboard, server: ServerProcess) -> None:
    page = dashboard.page
    ingest(server, bot="w1", ticker="AAPL", price="100", trend="up")
    page.set_viewport_size({"width": 360, "height": 740})
    dashboard.signed_in()
    for view in ("board", "trades", "history", "settings"):
        dashboard.view(view)
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{view} is {width}px wide on a 360px phone"
        dashboard.shot(f"phone-{view}")


def test_the_dashboard_needs_no_key_but_sends_a_strict_policy(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/dashboard/")
    assert response.status_code == 200 and "<title>trade-analysis</title>" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe" not in policy
    assert TEST_KEY not in response.text and "devkey" not in response.text
    for asset in ("js/main.js", "js/format.js", "vendor/uplot/uPlot.iife.min.js", "style.css"):
        served = httpx.get(f"{server.url}/dashboard/{asset}")
        assert served.status_code == 200, asset
        assert served.headers["content-security-policy"] == policy
    # Nothing the page loads names another host (no CDN, no web fonts).
    assert "http" not in response.text.replace('href="#', "")


def test_the_dashboard_files_are_revalidated_and_nothing_else_is_served(
    server: ServerProcess,
) -> None:
    served = httpx.get(server.url + "/dashboard/js/boot.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.headers["cache-control"] == "no-cache"
    etag = served.headers["etag"]
    again = httpx.get(server.url + "/dashboard/js/boot.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert "default-src 'self'" in again.headers["content-security-policy"]
    outside = ("%2e%2e/app.py", "js/%2e%2e/%2e%2e/app.py", "nope.js", "js/")
    policy = served.headers["content-security-policy"]
    for path in (f"/dashboard/{name}" for name in outside):
        missing = httpx.get(server.url + path)
        assert missing.status_code == 404 and missing.headers["content-security-policy"] == policy
    refused = httpx.post(server.url + "/dashboard/")
    assert refused.status_code == 405 and refused.headers["content-security-policy"] == policy
    moved = httpx.get(server.url + "/dashboard")
    assert moved.is_redirect and moved.headers["location"].endswith("/dashboard/")


def test_the_page_puts_a_short_lived_token_in_the_socket_url_never_the_key(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    opened: list[str] = []
    page.on("websocket", lambda socket: opened.append(socket.url))
    dashboard.sign_in(TEST_KEY)
    expect(page.locator("#state")).to_have_text("live")
    (url,) = opened
    assert TEST_KEY not in url
    token = url.split("token=", 1)[1]
    assert token.startswith("t2.images-socket.")  # the page asks for what it opens
    # The same token opens an image URL, and the server accepts it in place of the key.
    assert httpx.get(server.url + "/uploads/none.png", params={"token": token}).status_code == 404


def test_add_windows_without_a_display_says_why_and_offers_nothing_to_watch(
    dashboard: Dashboard,
) -> None:
    """The server here has no display: the picker tells so and has no "Watch selected"."""
    dashboard.signed_in()
    page = dashboard.page
    page.click("#open-picker")
    expect(page.locator("#picker")).to_be_visible()
    status = page.locator("#picker-status")
    expect(status).not_to_have_text(re.compile(r"^$|Looking for windows"))
    expect(status).to_contain_text("display")
    expect(page.locator("#watch-selected")).to_be_hidden()
    expect(page.locator("#picker-interval")).to_be_hidden()
    dashboard.shot("picker-without-a-display")
