"""Other websites in the trader's browser: DNS rebinding (Host), cross-site WebSockets
(Origin), wildcard CORS with the public key, and how many sockets one process holds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import TEST_KEY
from trade_analysis.app import create_app
from trade_analysis.config import DEFAULT_API_KEY, Settings, UnsafeConfiguration

LOCAL = "http://127.0.0.1:8000"
DEFAULT_AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
SOCKETS = ["/ws", "/", "/api/v1/ws"]


@pytest.fixture
def default_key(settings: Settings) -> Iterator[TestClient]:
    """The app on the public default key, as a browser on the trader's desktop reaches it."""
    with TestClient(
        create_app(settings.model_copy(update={"api_key": DEFAULT_API_KEY})), base_url=LOCAL
    ) as client:
        yield client


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "192.168.1.5:8000"]
)
@pytest.mark.parametrize("path", ["/trades", "/api/v1/windows", "/api/v1/bots", "/ping"])
def test_a_rebound_name_is_refused_with_the_default_key(
    default_key: TestClient, host: str, path: str
) -> None:
    response = default_key.get(path, headers={**DEFAULT_AUTH, "Host": host})
    assert response.status_code == 421
    assert "ALLOWED_HOSTS" in response.json()["detail"]


def test_a_rebound_name_cannot_trade_or_read_a_window(default_key: TestClient) -> None:
    evil = {**DEFAULT_AUTH, "Host": "evil.example:8000"}
    order = {"ticker": "AAPL", "price": 1, "direction": "buy"}
    assert default_key.post("/api/v1/manual_trade", json=order, headers=evil).status_code == 421
    assert default_key.get("/windows/1/preview", headers=evil).status_code == 421
    assert default_key.get("/api/v1/trades", headers=DEFAULT_AUTH).json()["all_trades"] == []


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_served_with_the_default_key(default_key: TestClient, host: str) -> None:
    response = default_key.get("/trades", headers={**DEFAULT_AUTH, "Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("path", SOCKETS)
def test_a_rebound_name_gets_no_socket(default_key: TestClient, path: str) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        default_key.websocket_connect(
            f"{path}?token={DEFAULT_API_KEY}", headers={"Host": "evil.example:8000"}
        ) as socket,
    ):
        socket.receive_text()
    assert refused.value.code == 1008


def test_allowed_hosts_name_a_proxy_s_hosts(settings: Settings) -> None:
    behind_proxy = settings.model_copy(update={"allowed_hosts": ["trades.example.com"]})
    with TestClient(create_app(behind_proxy)) as client:
        client.headers.update({"Authorization": f"Bearer {TEST_KEY}"})
        assert client.get("/trades", headers={"Host": "trades.example.com"}).status_code == 200
        assert client.get("/trades", headers={"Host": "Trades.Example.com:443"}).status_code == 200
        assert client.get("/trades", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/trades", headers={"Host": "evil.example"}).status_code == 421


def test_a_key_of_your_own_without_allowed_hosts_serves_any_name(client: TestClient) -> None:
    assert client.get("/trades", headers={"Host": "trades.example.com"}).status_code == 200


@pytest.mark.parametrize(
    "update",
    [
        {"dev_allow_all_cors": True},
        {"dev_allow_origins": ["*"]},
        {"dev_allow_origins": ["http://localhost:5173", "*"]},
        {"allowed_hosts": ["trades.example.com"]},
    ],
)
def test_the_default_key_refuses_wildcard_cors_and_public_names(
    settings: Settings, update: dict[str, object]
) -> None:
    exposed = settings.model_copy(update={"api_key": DEFAULT_API_KEY, **update})
    with pytest.raises(UnsafeConfiguration, match="BACKEND_API_KEY"):
        create_app(exposed)
    own_key = settings.model_copy(update=update)
    with TestClient(create_app(own_key)):
        pass


@pytest.mark.parametrize(
    "env",
    [
        {"DEV_ALLOW_ALL_CORS": "1"},
        {"DEV_ALLOW_ORIGINS": "*"},
        {"ALLOWED_HOSTS": "trades.example.com"},
    ],
)
def test_serve_refuses_wildcard_cors_with_the_default_key(
    tmp_path: Path, env: dict[str, str]
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"BACKEND_API_KEY", "BACKEND_API_KEYS"}},
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "trade_analysis", "serve", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 2, result.stderr
    assert "with the default API key" in result.stderr
    assert "BACKEND_API_KEY" in result.stderr


def ws_base(client: TestClient) -> str:
    """The test client's WebSockets go to ws://testserver unless given the whole URL."""
    return "ws" + str(client.base_url).removeprefix("http").rstrip("/")


def _open(client: TestClient, path: str, origin: str | None) -> str:
    """The first text the socket sends, or raises WebSocketDisconnect when refused."""
    headers = {} if origin is None else {"Origin": origin}
    url = f"{ws_base(client)}{path}?token={TEST_KEY}"
    with client.websocket_connect(url, headers=headers) as socket:
        return socket.receive_text()


@pytest.fixture
def local(settings: Settings) -> Iterator[TestClient]:
    allowed = settings.model_copy(update={"dev_allow_origins": ["http://localhost:5173"]})
    with TestClient(create_app(allowed), base_url=LOCAL) as client:
        yield client


@pytest.mark.parametrize("path", SOCKETS)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://evil.example:8000",
        "http://127.0.0.1:8001",
        "http://127.0.0.1.evil.example:8000",
        "null",
        "file://",
        "http://localhost:5174",
    ],
)
def test_a_socket_from_another_origin_is_refused_before_any_data(
    local: TestClient, path: str, origin: str
) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        _open(local, path, origin)
    assert refused.value.code == 1008


@pytest.mark.parametrize("path", SOCKETS)
@pytest.mark.parametrize(
    "origin", [None, "http://127.0.0.1:8000", "HTTP://127.0.0.1:8000/", "http://localhost:5173"]
)
def test_a_socket_from_the_dashboard_or_an_allowed_origin_opens(
    local: TestClient, path: str, origin: str | None
) -> None:
    assert _open(local, path, origin).startswith("{")


def test_any_socket_path_is_checked_before_routing(local: TestClient) -> None:
    """A WebSocket route added later gets the same check: it runs before any route."""
    with pytest.raises(WebSocketDisconnect) as refused:
        _open(local, "/api/v2/some-future-stream", "https://evil.example")
    assert refused.value.code == 1008
    with pytest.raises(WebSocketDisconnect) as unknown:
        _open(local, "/api/v2/some-future-stream", None)
    assert unknown.value.code == 1000  # past the gate: no such route


def test_the_origin_behind_a_tls_proxy_matches_its_host(settings: Settings) -> None:
    proxied = settings.model_copy(update={"allowed_hosts": ["trades.example.com"]})
    with TestClient(create_app(proxied), base_url="http://trades.example.com") as client:
        assert _open(client, "/api/v1/ws", "https://trades.example.com").startswith("{")
        with pytest.raises(WebSocketDisconnect):
            _open(client, "/api/v1/ws", "https://evil.example")


def test_sockets_beyond_the_cap_are_closed_with_1013(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_websocket_clients": 2})
    with TestClient(create_app(capped)) as client:
        url = f"/api/v1/ws?token={TEST_KEY}"
        with client.websocket_connect(url) as first, client.websocket_connect(url) as second:
            first.receive_text()
            second.receive_text()
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(url) as third,
            ):
                third.receive_text()
            assert refused.value.code == 1013
            assert "MAX_WEBSOCKET_CLIENTS" in refused.value.reason
        # Closed ones make room again.
        with client.websocket_connect(url) as again:
            assert again.receive_text().startswith("{")
