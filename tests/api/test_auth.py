"""Every route but /ping needs the key: 401 without one, 403 with a wrong one."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_KEY
from trade_analysis.api.credentials import TokenScope, issue_token
from trade_analysis.app import create_app
from trade_analysis.config import Settings

PROTECTED = [
    ("GET", "/latest"),
    ("GET", "/history"),
    ("GET", "/trades"),
    ("GET", "/bots"),
    ("POST", "/manual_trade"),
    ("POST", "/ingest"),
    ("DELETE", "/bots/1"),
    ("GET", "/uploads/anything.png"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/ws-token"),
]


def test_ping_needs_no_key(anonymous: TestClient) -> None:
    assert anonymous.get("/ping").json()["status"] == "ok"
    assert anonymous.get("/api/v1/ping").status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_key_is_401(anonymous: TestClient, method: str, path: str) -> None:
    response = anonymous.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PROTECTED[:8])
def test_missing_key_is_401_under_v1(anonymous: TestClient, method: str, path: str) -> None:
    response = anonymous.request(method, "/api/v1" + path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token " + TEST_KEY, TEST_KEY])
def test_malformed_authorization_is_401(anonymous: TestClient, header: str) -> None:
    response = anonymous.get("/trades", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize("wrong", ["devkey", TEST_KEY + "x", TEST_KEY[:-1], "DEVKEY"])
@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_wrong_key_is_403(anonymous: TestClient, wrong: str, method: str, path: str) -> None:
    response = anonymous.request(method, path, headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 403
    assert response.json()["detail"] in {"wrong API key", "wrong API key or expired token"}


def test_right_key_passes(anonymous: TestClient) -> None:
    response = anonymous.get("/trades", headers={"Authorization": f"Bearer {TEST_KEY}"})
    assert response.status_code == 200


def test_uploads_accept_the_key_as_a_query_token_for_img_tags(anonymous: TestClient) -> None:
    assert anonymous.get("/uploads/none.png", params={"token": "nope"}).status_code == 403
    assert anonymous.get("/uploads/none.png", params={"token": TEST_KEY}).status_code == 404


def test_a_browser_token_opens_image_urls_but_is_no_key(client: TestClient) -> None:
    issued = client.post("/api/v1/ws-token", params={"scope": "images"}).json()
    token = issued["token"]
    assert TEST_KEY not in token
    assert issued["expires_at"] > time.time() + 60
    anonymous = TestClient(client.app)
    assert anonymous.get("/uploads/none.png", params={"token": token}).status_code == 404
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert anonymous.get("/uploads/none.png", params={"token": tampered}).status_code == 403
    # A token stands in for the key only in URLs; headers carry the key itself.
    assert anonymous.get("/trades", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_the_docs_page_loads_its_document_with_a_token_not_the_key(client: TestClient) -> None:
    page = client.get("/docs").text
    assert TEST_KEY not in page
    document_url = re.search(r'data-url="(/openapi\.json\?token=[^"]+)"', page)
    assert document_url is not None, page
    anonymous = TestClient(client.app)
    assert anonymous.get(document_url.group(1)).json()["info"]["title"] == "trade-analysis"
    assert anonymous.get("/docs", params={"token": TEST_KEY}).status_code == 200
    assert client.get("/redoc").status_code == 200


def test_two_keys_are_valid_at_once_for_rotation(settings: Settings) -> None:
    rotating = settings.model_copy(update={"api_key": "new-key-1", "api_keys": ["old-key-2"]})
    with TestClient(create_app(rotating)) as client:
        for key in ("new-key-1", "old-key-2"):
            response = client.get("/trades", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200, key
        for key in (TEST_KEY, "devkey"):
            response = client.get("/trades", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 403, key
        # Tokens signed before the rotation (with the old key) still open URLs.
        old, _ = issue_token("old-key-2", time.time(), [TokenScope.IMAGES])
        assert client.get("/uploads/none.png", params={"token": old}).status_code == 404


def test_backend_api_keys_alone_replace_the_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKEND_API_KEY", raising=False)
    monkeypatch.setenv("BACKEND_API_KEYS", "k-one, k-two")
    settings = Settings()
    assert settings.valid_keys == ("k-one", "k-two")
    assert not settings.uses_default_key


def test_a_wildcard_origin_gets_no_credentials_over_http(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"dev_allow_origins": ["*"]}))) as client:
        response = client.get("/ping", headers={"Origin": "https://evil.example"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
