"""Browser tokens: one lifetime given by the key, scopes they cannot cross, and open sockets
closed when their token runs out unless renewed (with a token the key issued, or the key)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.conftest import AUTH, TEST_KEY
from trade_analysis.app import create_app
from trade_analysis.config import Settings

SOCKETS = ["/ws", "/", "/api/v1/ws"]
# Seconds: short, so the tests wait little, but a token lives at least TTL - 1 (its expiry
# is a whole second) and a loaded machine needs time to renew.
TTL = 4


def token_for(client: TestClient, *scopes: str) -> str:
    response = client.post("/api/v1/ws-token", params=[("scope", scope) for scope in scopes])
    assert response.status_code == 200, response.text
    issued = response.json()
    assert sorted(issued["scopes"]) == sorted(set(scopes or ("socket",)))
    return str(issued["token"])


def document_token(page: str) -> str:
    found = re.search(r'data-url="/openapi\.json\?token=([^"]+)"', page) or re.search(
        r'spec-url="/openapi\.json\?token=([^"]+)"', page
    )
    assert found is not None, page
    return found.group(1)


@pytest.mark.parametrize("viewer", ["/docs", "/redoc"])
def test_the_docs_never_give_a_token_more_time(client: TestClient, viewer: str) -> None:
    anonymous = TestClient(client.app)
    first = document_token(client.get(viewer).text)  # with the key: a fresh docs token
    time.sleep(1.1)  # a token minted now would carry a later expiry
    again = anonymous.get(viewer, params={"token": first})
    assert again.status_code == 200
    assert document_token(again.text) == first
    assert anonymous.get("/openapi.json", params={"token": first}).status_code == 200
    # The seed's clients put the key itself in the URL: that still gets a fresh token.
    with_key = anonymous.get(viewer, params={"token": TEST_KEY})
    assert document_token(with_key.text) != first


@pytest.mark.parametrize("viewer", ["/docs", "/redoc", "/openapi.json"])
@pytest.mark.parametrize("scopes", [("socket",), ("images",), ("socket", "images")])
def test_a_socket_or_image_token_cannot_open_the_docs(
    client: TestClient, viewer: str, scopes: tuple[str, ...]
) -> None:
    token = token_for(client, *scopes)
    response = TestClient(client.app).get(viewer, params={"token": token})
    assert response.status_code == 403
    assert "not for docs" in response.json()["detail"]


@pytest.mark.parametrize("scopes", [("socket",), ("docs",)])
def test_only_an_image_token_opens_images(client: TestClient, scopes: tuple[str, ...]) -> None:
    anonymous = TestClient(client.app)
    wrong = token_for(client, *scopes)
    for path in ("/uploads/none.png", "/api/v1/uploads/none.png", "/api/v1/workers/1/frame"):
        assert anonymous.get(path, params={"token": wrong}).status_code == 403, path
    right = token_for(client, "images")
    assert anonymous.get("/uploads/none.png", params={"token": right}).status_code == 404


@pytest.mark.parametrize("path", SOCKETS)
@pytest.mark.parametrize("scopes", [("images",), ("docs",)])
def test_only_a_socket_token_opens_a_socket(
    client: TestClient, path: str, scopes: tuple[str, ...]
) -> None:
    token = token_for(client, *scopes)
    opening = client.websocket_connect(f"{path}?token={token}")
    with pytest.raises(WebSocketDisconnect) as refused, opening as socket:
        socket.receive_text()
    assert refused.value.code == 1008
    assert "not for the socket" in refused.value.reason


def test_an_unknown_scope_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/api/v1/ws-token", params={"scope": "everything"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "scope", 0]


@pytest.fixture
def short_lived(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"token_ttl_seconds": TTL}))) as client:
        client.headers.update(AUTH)
        yield client


def close_code(socket: WebSocketTestSession) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            socket.receive_text()
    return closed.value.code


def echo(socket: WebSocketTestSession, path: str) -> None:
    """A round trip proving the socket is still open: the typed stream answers a bad
    subscribe with an `error` event; the snapshot stream sends a snapshot each second."""
    if path == "/api/v1/ws":
        socket.send_text(json.dumps({"type": "subscribe", "data": ["no-such-topic"]}))
        while json.loads(socket.receive_text())["type"] != "error":
            pass
    else:
        socket.receive_text()


def wait_past(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.3)


@pytest.mark.parametrize("path", SOCKETS)
def test_a_socket_closes_when_its_token_expires(short_lived: TestClient, path: str) -> None:
    issued = short_lived.post("/api/v1/ws-token").json()
    with short_lived.websocket_connect(f"{path}?token={issued['token']}") as socket:
        socket.receive_text()
        assert close_code(socket) == 4401
    assert time.time() >= issued["expires_at"]


@pytest.mark.parametrize("path", SOCKETS)
def test_a_socket_renewed_with_a_fresh_token_stays_open(short_lived: TestClient, path: str) -> None:
    first = short_lived.post("/api/v1/ws-token").json()
    with short_lived.websocket_connect(f"{path}?token={first['token']}") as socket:
        socket.receive_text()
        fresh = first
        while fresh["expires_at"] <= first["expires_at"]:  # the next whole second
            time.sleep(0.1)
            fresh = short_lived.post("/api/v1/ws-token").json()
        socket.send_text(json.dumps({"type": "renew", "data": {"token": fresh["token"]}}))
        wait_past(first["expires_at"])
        echo(socket, path)  # still open past the first token's end
        assert close_code(socket) == 4401  # and closed at the fresh one's
    assert time.time() >= fresh["expires_at"]


@pytest.mark.parametrize("path", SOCKETS)
def test_a_socket_cannot_renew_itself_with_its_own_or_an_image_token(
    short_lived: TestClient, path: str
) -> None:
    issued = short_lived.post("/api/v1/ws-token").json()
    images = token_for(short_lived, "images")
    with short_lived.websocket_connect(f"{path}?token={issued['token']}") as socket:
        socket.receive_text()
        for token in (issued["token"], images, "t2.socket.99999999999.forged"):
            socket.send_text(json.dumps({"type": "renew", "data": {"token": token}}))
        assert close_code(socket) == 4401


def test_a_refused_renewal_is_told_on_the_typed_stream(short_lived: TestClient) -> None:
    token = token_for(short_lived, "socket")
    with short_lived.websocket_connect(f"/api/v1/ws?token={token}") as socket:
        assert json.loads(socket.receive_text())["type"] == "hello"
        socket.send_text(json.dumps({"type": "renew", "data": {"token": "nope"}}))
        event = json.loads(socket.receive_text())
        assert event["type"] == "error" and "renew refused" in event["data"]["detail"]


@pytest.mark.parametrize("path", SOCKETS)
def test_renewed_with_the_key_a_socket_stays_open(short_lived: TestClient, path: str) -> None:
    issued = short_lived.post("/api/v1/ws-token").json()
    with short_lived.websocket_connect(f"{path}?token={issued['token']}") as socket:
        socket.receive_text()
        socket.send_text(json.dumps({"type": "renew", "data": {"token": TEST_KEY}}))
        wait_past(issued["expires_at"] + 1)
        echo(socket, path)


def test_a_socket_opened_with_the_key_does_not_expire(short_lived: TestClient) -> None:
    with short_lived.websocket_connect(f"/api/v1/ws?token={TEST_KEY}") as socket:
        socket.receive_text()
        wait_past(time.time() + TTL + 1)
        echo(socket, "/api/v1/ws")
