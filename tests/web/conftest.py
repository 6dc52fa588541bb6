"""The dashboard in a real browser (Debian's Chromium through Playwright) on a real
`trade-analysis serve`, with real Tk chart windows on Xvfb when capture is involved.

Every view a test looks at is saved as a screenshot under the test's temporary folder
(`<tmp_path>/screens/NN-name.png`), so a failure can be seen, not only read.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.support.xvfb import missing

DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("chromium is not installed (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    """A server without a display: uploads, trades, history."""
    process = ServerProcess(
        tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}
    ).start()
    yield process
    process.stop()


@pytest.fixture
def capture_server(tmp_path: Path, database_url: str, xvfb_display: str) -> Iterator[ServerProcess]:
    """A server that captures windows on the test's Xvfb."""
    process = ServerProcess(
        tmp_path / "data",
        {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url, "DISPLAY": xvfb_display},
    ).start()
    yield process
    process.stop()


@dataclass
class Dashboard:
    """A browser tab on the dashboard, and what it logged."""

    page: Any
    url: str
    screens: Path
    errors: list[str] = field(default_factory=list)
    shots: int = 0

    def sign_in(self, key: str = TEST_KEY) -> None:
        self.page.goto(self.url + "/")
        self.page.fill("#key", key)
        self.page.click("#connect button[type=submit]")

    def signed_in(self) -> None:
        from playwright.sync_api import expect

        self.sign_in()
        expect(self.page.locator("#state")).to_have_text("live", timeout=15_000)
        # The socket may open before /bots answers: signed in once the views are there.
        expect(self.page.locator("#tabs")).to_be_visible()

    def view(self, name: str) -> None:
        self.page.click(f"#tabs a[data-view={name}]")

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = self.screens / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=AUTH, timeout=15, **kwargs)


def open_dashboard(browser: Any, url: str, tmp_path: Path, **context: Any) -> Iterator[Dashboard]:
    tab = browser.new_context(base_url=url, **context)
    page = tab.new_page()
    page.set_default_timeout(15_000)
    screens = tmp_path / "screens"
    screens.mkdir(exist_ok=True)
    dashboard = Dashboard(page, url, screens)
    # Script errors (not failed loads: a 404 for "no frame yet" is an answer, not a bug).
    page.on("pageerror", lambda error: dashboard.errors.append(str(error)))
    # No request may leave the machine: anything not to this server fails the test.
    outside: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith((url, "data:", "blob:"))
            else (outside.append(route.request.url), route.abort())[1]
        ),
    )
    try:
        yield dashboard
    finally:
        tab.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert dashboard.errors == [], f"script errors: {dashboard.errors}"


@pytest.fixture
def dashboard(browser: Any, server: ServerProcess, tmp_path: Path) -> Iterator[Dashboard]:
    yield from open_dashboard(
        browser, server.url, tmp_path, viewport={"width": 1280, "height": 900}
    )


@pytest.fixture
def capture_dashboard(
    browser: Any, capture_server: ServerProcess, tmp_path: Path
) -> Iterator[Dashboard]:
    yield from open_dashboard(browser, capture_server.url, tmp_path, viewport=DESKTOP)
