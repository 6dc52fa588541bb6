"""A real server (`trade-analysis serve`, the default key, loopback) against clients that
misbehave on the wire: a body sent without the key, headers that never end or never stop,
an oversized WebSocket message, a rebound host name and another site's socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.server import ServerProcess

DEFAULT_AUTH = {"Authorization": "Bearer devkey"}
HEADER_TIMEOUT = 1
MESSAGE_BYTES = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("hostile") / "data"
    env = {
        "BACKEND_API_KEY": "devkey",
        "BACKEND_API_KEYS": "",
        "DATABASE_URL": "",
        "BUS_URL": "memory://",
        "HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "MAX_WEBSOCKET_MESSAGE_BYTES": str(MESSAGE_BYTES),
    }
    process = ServerProcess(data_dir, env).start()
    try:
        yield process
    finally:
        process.stop()


def raw_connection(server: ServerProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    return connection


def read_response(connection: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_a_body_without_the_key_is_answered_before_it_is_sent(server: ServerProcess) -> None:
    with raw_connection(server) as connection:
        connection.sendall(
            b"POST /api/v1/manual_trade HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 8000000\r\n\r\n"
        )
        # Not one byte of the 8 MB is sent: the answer comes from the headers alone.
        answer = read_response(connection)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"missing API key" in answer or b"connection: close" in answer.lower()


def test_headers_that_never_end_are_dropped_after_the_timeout(server: ServerProcess) -> None:
    with raw_connection(server) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        assert connection.recv(1024) == b""  # closed by the server, not answered
    assert f"took over {HEADER_TIMEOUT}s" in server.log.read_text()


def test_a_silent_connection_is_dropped_after_the_timeout(server: ServerProcess) -> None:
    with raw_connection(server) as connection:
        assert connection.recv(1024) == b""


def test_headers_over_the_size_are_refused(server: ServerProcess) -> None:
    huge = {"X-Padding": "x" * (32 * 1024)}
    response = httpx.get(server.url + "/ping", headers=huge)
    assert response.status_code == 400
    assert httpx.get(server.url + "/ping").status_code == 200


def test_a_websocket_message_over_the_size_closes_the_socket(server: ServerProcess) -> None:
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws?token=devkey"
    with connect(ws_url) as live:
        assert '"hello"' in str(live.recv(timeout=10))
        live.send('{"type": "subscribe", "data": ["' + "x" * MESSAGE_BYTES + '"]}')
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                live.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_rebound_host_name_is_refused(server: ServerProcess) -> None:
    response = httpx.get(
        server.url + "/trades", headers={**DEFAULT_AUTH, "Host": f"evil.example:{server.port}"}
    )
    assert response.status_code == 421
    assert httpx.get(server.url + "/trades", headers=DEFAULT_AUTH).status_code == 200


@pytest.mark.parametrize("path", ["/ws", "/", "/api/v1/ws"])
def test_another_site_s_socket_gets_a_403(server: ServerProcess, path: str) -> None:
    ws_url = server.url.replace("http://", "ws://") + f"{path}?token=devkey"
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin=Origin("https://evil.example")).close()
    assert refused.value.response.status_code == 403
    with connect(ws_url, origin=Origin(server.url)) as live:
        assert live.recv(timeout=10)
