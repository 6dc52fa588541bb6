"""Sizes: small bodies for small routes, the key before a body, bounded `limit` and `offset`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_KEY
from tests.images import image_bytes
from trade_analysis.api.schemas import MAX_ROWS
from trade_analysis.config import Settings

ORDER = {"ticker": "AAPL", "price": 1, "direction": "buy"}
JSON_ROUTES = [
    ("POST", "/api/v1/manual_trade"),
    ("POST", "/manual_trade"),
    ("PUT", "/api/v1/bots/1"),
    ("POST", "/api/v1/ws-token"),
    ("POST", "/api/v1/start_multi"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_json_body_over_max_json_bytes_is_413(
    client: TestClient, settings: Settings, method: str, path: str
) -> None:
    body = b'{"pad": "' + b"x" * settings.max_json_bytes + b'"}'
    response = client.request(
        method, path, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "MAX_JSON_BYTES" in response.json()["detail"]


def test_a_json_body_within_the_limit_is_served(client: TestClient) -> None:
    assert client.post("/api/v1/manual_trade", json=ORDER).status_code == 200


def test_a_streamed_json_body_is_cut_at_the_limit(client: TestClient, settings: Settings) -> None:
    def chunks():  # no Content-Length: the limit counts what arrives
        for _ in range(8):
            yield b"x" * settings.max_json_bytes

    response = client.post(
        "/api/v1/manual_trade", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_uploads_still_take_max_upload_bytes(client: TestClient, settings: Settings) -> None:
    png = image_bytes(seed=3)
    padding = b"\0" * (4 * settings.max_json_bytes)  # a PNG may carry trailing bytes
    response = client.post(
        "/api/v1/ingest",
        files={"file": ("chart.png", png + padding, "image/png")},
        data={"ticker": "AAPL", "price": "1", "trend": "up"},
    )
    assert response.status_code == 200, response.text
    too_big = b"\0" * (settings.max_upload_bytes + 1)
    response = client.post("/ingest", files={"file": ("chart.png", png + too_big, "image/png")})
    assert response.status_code == 413
    assert "MAX_UPLOAD_BYTES" in response.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ({"Authorization": "Bearer devkey"}, 403),
        ({"Authorization": f"Bearer {TEST_KEY}x"}, 403),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/manual_trade", "/ingest", "/api/v1/ingest"])
def test_a_body_without_the_key_is_refused_whatever_its_size(
    anonymous: TestClient, headers: dict[str, str], status: int, path: str
) -> None:
    body = b"x" * (8 * 1024 * 1024)
    response = anonymous.post(path, content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize(
    "path", ["/trades.csv", "/api/v1/trades.csv", "/history.csv", "/api/v1/history.csv"]
)
@pytest.mark.parametrize("value", [str(10**20), str(MAX_ROWS + 1), "0", "-1"])
def test_a_csv_limit_out_of_range_is_422_naming_it(
    client: TestClient, path: str, value: str
) -> None:
    response = client.get(path, params={"limit": value})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/history", "limit"),
        ("/history", "offset"),
        ("/api/v1/history", "limit"),
        ("/api/v1/history", "offset"),
        ("/history.csv", "offset"),
        ("/trades", "limit"),
        ("/api/v1/trades", "limit"),
    ],
)
def test_every_limit_and_offset_is_bounded(client: TestClient, path: str, name: str) -> None:
    response = client.get(path, params={name: str(10**20)})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", name]


def test_a_csv_within_the_bounds_is_whole(client: TestClient) -> None:
    assert client.post("/api/v1/manual_trade", json=ORDER).status_code == 200
    response = client.get("/trades.csv", params={"limit": MAX_ROWS})
    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == 2  # header and the one trade
