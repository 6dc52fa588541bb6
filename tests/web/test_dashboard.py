"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) on the real server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.support.xvfb import missing

pytestmark = [pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}
    ).start()
    yield process
    process.stop()


@pytest.fixture
def page(server: ServerProcess) -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("chromium is not installed (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(base_url=server.url)
        finally:
            browser.close()


def connect(page: Any, key: str) -> None:
    page.goto("/")
    page.fill("#key", key)
    page.click("#connect button")


def test_trades_and_pnl_appear_live(page: Any, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    connect(page, TEST_KEY)
    expect(page.locator("#state")).to_have_text("live")
    for price, trend in [("100.00", "up"), ("104.25", "down")]:
        response = httpx.post(
            server.url + "/ingest",
            headers=AUTH,
            data={"bot": "w1", "ticker": "AAPL", "price": price, "trend": trend},
        )
        assert response.status_code == 200
    expect(page.locator("#trades tbody tr")).to_have_count(2)
    expect(page.locator("#trades tbody tr").first).to_contain_text("sell")
    expect(page.locator("#trades tbody tr").first).to_contain_text("4.25")
    expect(page.locator("#tickers tr[data-ticker=AAPL]")).to_contain_text("4.25")
    expect(page.locator("#total-pnl")).to_have_text("4.25")


def test_a_reload_is_in_sync_at_once_through_hello(page: Any, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    httpx.post(
        server.url + "/manual_trade",
        headers=AUTH,
        json={"ticker": "TSLA", "price": "250.12", "direction": "buy"},
    )
    connect(page, TEST_KEY)
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    expect(page.locator("#tickers tr[data-ticker=TSLA]")).to_contain_text("long")


def test_a_wrong_key_is_told_and_shows_nothing(page: Any, server: ServerProcess) -> None:
    from playwright.sync_api import expect

    httpx.post(
        server.url + "/manual_trade",
        headers=AUTH,
        json={"ticker": "TSLA", "price": "250.12", "direction": "buy"},
    )
    connect(page, "not-the-key")
    expect(page.locator("#state")).to_have_text("wrong API key")
    expect(page.locator("#trades tbody tr")).to_have_count(0)


def test_the_dashboard_needs_no_key_but_sends_a_strict_policy(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/dashboard/")
    assert response.status_code == 200 and "<title>trade-analysis</title>" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert TEST_KEY not in response.text and "devkey" not in response.text


def test_the_page_puts_a_short_lived_token_in_the_socket_url_never_the_key(
    page: Any, server: ServerProcess
) -> None:
    from playwright.sync_api import expect

    opened: list[str] = []
    page.on("websocket", lambda socket: opened.append(socket.url))
    connect(page, TEST_KEY)
    expect(page.locator("#state")).to_have_text("live")
    (url,) = opened
    assert TEST_KEY not in url
    token = url.split("token=", 1)[1]
    assert token.startswith("t1.")
    # The same token opens an image URL, and the server accepts it in place of the key.
    assert httpx.get(server.url + "/uploads/none.png", params={"token": token}).status_code == 404
