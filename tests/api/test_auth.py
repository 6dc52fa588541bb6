"""Every route but /ping needs the key: 401 without one, 403 with a wrong one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_KEY

PROTECTED = [
    ("GET", "/latest"),
    ("GET", "/history"),
    ("GET", "/trades"),
    ("GET", "/bots"),
    ("POST", "/manual_trade"),
    ("POST", "/ingest"),
    ("DELETE", "/bots/1"),
    ("GET", "/uploads/anything.png"),
]


def test_ping_needs_no_key(anonymous: TestClient) -> None:
    assert anonymous.get("/ping").json()["status"] == "ok"
    assert anonymous.get("/api/v1/ping").status_code == 200


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_key_is_401(anonymous: TestClient, prefix: str, method: str, path: str) -> None:
    response = anonymous.request(method, prefix + path)
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
    assert response.json()["detail"] == "wrong API key"


def test_right_key_passes(anonymous: TestClient) -> None:
    response = anonymous.get("/trades", headers={"Authorization": f"Bearer {TEST_KEY}"})
    assert response.status_code == 200


def test_uploads_accept_the_key_as_a_query_token_for_img_tags(anonymous: TestClient) -> None:
    assert anonymous.get("/uploads/none.png", params={"token": "nope"}).status_code == 403
    assert anonymous.get("/uploads/none.png", params={"token": TEST_KEY}).status_code == 404
