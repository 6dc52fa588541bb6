"""The dashboard keeps its live socket past its token's life by renewing it with the key,
and its images load with the same short-lived token; neither token opens the API docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.images import image_bytes
from tests.server import ServerProcess
from tests.web.conftest import Dashboard, open_dashboard

LIFETIME = 4  # BROWSER_TOKEN_SECONDS: the page renews at half of it


@pytest.fixture
def short_tokens(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "data",
        {
            "BACKEND_API_KEY": TEST_KEY,
            "DATABASE_URL": database_url,
            "BROWSER_TOKEN_SECONDS": str(LIFETIME),
        },
    ).start()
    yield process
    process.stop()


@pytest.fixture
def tab(browser: Any, short_tokens: ServerProcess, tmp_path: Path) -> Iterator[Dashboard]:
    yield from open_dashboard(
        browser, short_tokens.url, tmp_path, viewport={"width": 1280, "height": 900}
    )


def test_the_live_socket_outlives_its_token(tab: Dashboard, short_tokens: ServerProcess) -> None:
    from playwright.sync_api import expect

    sockets: list[Any] = []
    tab.page.on("websocket", lambda socket: sockets.append(socket))
    tab.signed_in()
    renewals: list[str] = []
    closed: list[Any] = []
    for socket in sockets:
        socket.on("framesent", lambda payload: renewals.append(str(payload)))
        socket.on("close", lambda socket: closed.append(socket))
    # Three lifetimes of the first token; waiting in the page, not in Python, so the
    # tab's requests (routed through this process) go on meanwhile.
    tab.page.wait_for_timeout(3 * LIFETIME * 1000)
    expect(tab.page.locator("#state")).to_have_text("live")
    assert len(sockets) == 1 and closed == [], "the socket was closed and opened again"
    assert sum('"renew"' in frame for frame in renewals) >= 2, renewals
    # Still live: a trade made now reaches the open socket.
    order = {"ticker": "TSLA", "price": 250.12, "direction": "buy", "bot": "desk-9"}
    assert httpx.post(short_tokens.url + "/api/v1/manual_trade", headers=AUTH, json=order)
    expect(tab.page.locator("#cards")).to_contain_text("TSLA")
    tab.shot("live-after-renewals")


def test_history_images_load_with_the_page_token(
    tab: Dashboard, short_tokens: ServerProcess
) -> None:
    from playwright.sync_api import expect

    uploaded = httpx.post(
        short_tokens.url + "/ingest",
        headers=AUTH,
        files={"file": ("f.png", image_bytes(seed=5), "image/png")},
        data={"ticker": "AAPL", "price": "1", "trend": "up"},
    )
    assert uploaded.status_code == 200, uploaded.text
    # Listening from the start: the Bots view may load the same frame first, and the
    # History view's image then comes from the browser's cache.
    images: list[str] = []
    tab.page.on(
        "response",
        lambda response: (
            images.append(f"{response.status} {response.url}")
            if "/uploads/" in response.url
            else None
        ),
    )
    tab.signed_in()
    tab.view("history")
    # The History table's image (the Bots view, hidden now, shows the same frame).
    image = tab.page.locator("#view-history img[src*='/uploads/']").first
    expect(image).to_be_visible()
    expect(image).to_have_js_property("complete", True)
    assert tab.page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    assert images and all(line.startswith("200 ") for line in images), images
    token = image.get_attribute("src").split("token=")[1]  # type: ignore[union-attr]
    assert TEST_KEY not in token
    # The page's token opens images and the socket, not the API's docs.
    assert httpx.get(short_tokens.url + "/docs", params={"token": token}).status_code == 403
