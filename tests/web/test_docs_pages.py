"""The API docs in a real browser: Swagger UI and Redoc from the package, offline, under
the dashboard's content policy, opened with the key and never renewing a token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.web.conftest import Dashboard, open_dashboard
from trade_analysis.api.policy import DASHBOARD_POLICY


@pytest.fixture
def docs_tab(browser: Any, server: ServerProcess, tmp_path: Path) -> Iterator[Dashboard]:
    """A tab that records every content-policy violation the page reports."""
    for tab in open_dashboard(
        browser, server.url, tmp_path, viewport={"width": 1280, "height": 900}
    ):
        errors = tab.errors

        def on_console(message: Any, errors: list[str] = errors) -> None:
            if "Content Security Policy" in message.text:
                errors.append(message.text)

        tab.page.on("console", on_console)
        yield tab


def test_swagger_ui_draws_the_api_offline(docs_tab: Dashboard) -> None:
    from playwright.sync_api import expect

    response = docs_tab.page.goto(f"{docs_tab.url}/docs?token={TEST_KEY}")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == DASHBOARD_POLICY
    expect(docs_tab.page.locator(".swagger-ui .info .title")).to_contain_text("trade-analysis")
    expect(
        docs_tab.page.locator(".opblock-summary-path", has_text="/api/v1/ws-token")
    ).to_be_visible()
    docs_tab.shot("swagger-ui")


def test_redoc_draws_the_api_offline(docs_tab: Dashboard) -> None:
    from playwright.sync_api import expect

    response = docs_tab.page.goto(f"{docs_tab.url}/redoc?token={TEST_KEY}")
    assert response is not None and response.status == 200
    # The dashboard's policy, <style> elements only with this response's nonce, and fonts
    # Redoc embeds as data: URLs.
    policy = response.headers["content-security-policy"]
    extra = r"; style-src 'self' 'nonce-[\w-]{20,}'; font-src 'self' data:"
    assert re.fullmatch(re.escape(DASHBOARD_POLICY) + extra, policy), policy
    expect(docs_tab.page.get_by_text("/api/v1/ws-token").first).to_be_attached(timeout=30_000)
    expect(docs_tab.page.locator("h1").first).to_contain_text("trade-analysis")
    docs_tab.shot("redoc")
    # Redoc shows its maker's logo from a CDN: the policy blocks it (the page stays
    # offline, the image hides itself), and that is the one thing blocked.
    blocked_logo = [error for error in docs_tab.errors if "cdn.redoc.ly" in error]
    docs_tab.errors[:] = [error for error in docs_tab.errors if error not in blocked_logo]


@pytest.mark.parametrize("viewer", ["/docs", "/redoc"])
def test_the_pages_load_only_this_server_s_files(server: ServerProcess, viewer: str) -> None:
    page = httpx.get(server.url + viewer, headers=AUTH).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    assert all(source.startswith("/dashboard/") for source in sources), sources
    assert "<script>" not in page  # no inline script: the policy would block it
    for source in sources:
        assert httpx.get(server.url + source).status_code == 200, source
