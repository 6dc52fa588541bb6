"""WebSockets: the seed's snapshot stream (`/ws`, `/`) and the typed event stream."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from trade_analysis.api.credentials import credential_valid, issue_token
from trade_analysis.api.deps import ServicesDep, require_api_key
from trade_analysis.api.schemas import BrowserToken
from trade_analysis.live import ClientHandle, Event, InvalidEvent, parse_topics
from trade_analysis.services import Services
from trade_analysis.wire import ErrorData

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"])
POLICY_VIOLATION = 1008


def _given_key(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    header = websocket.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


async def _accept_authorised(websocket: WebSocket) -> Services | None:
    """Accept, then close with 1008 unless the key is right (browsers can't set headers)."""
    services: Services = websocket.app.state.services
    await websocket.accept()
    given = _given_key(websocket)
    if given is None or not credential_valid(services.settings.valid_keys, given, time.time()):
        reason = (
            "missing token: add ?token= (from POST /api/v1/ws-token)"
            if given is None
            else "wrong API key or expired token"
        )
        await websocket.close(code=POLICY_VIOLATION, reason=reason)
        return None
    return services


async def _messages(websocket: WebSocket) -> AsyncIterator[str | None]:
    """What the client sends, until it disconnects: text, or None for a binary frame.

    Not `receive_text()`: a binary frame would raise KeyError there and end the
    connection with a server error instead of an `error` event.
    """
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            yield text if isinstance(text, str) else None
    except (WebSocketDisconnect, RuntimeError):
        return


async def _drain(websocket: WebSocket) -> None:
    """The snapshot stream ignores what clients send; keep reading to notice a disconnect."""
    async for _ in _messages(websocket):
        pass


async def snapshot_stream(websocket: WebSocket) -> None:
    services = await _accept_authorised(websocket)
    if services is None:
        return
    stream = services.snapshots
    client_id = await stream.add(websocket)
    try:
        await _drain(websocket)
    finally:
        await stream.remove(client_id)


@router.get(
    "/api/v1/live/stats",
    dependencies=[Depends(require_api_key)],
    summary="Live clients connected to this process (typed and snapshot streams)",
)
async def live_stats(services: ServicesDep) -> dict[str, int]:
    return {
        "clients": services.hub.client_count,
        "client_tasks": services.hub.background_tasks,
        "snapshot_clients": services.snapshots.client_count,
        "snapshot_tasks": services.snapshots.background_tasks,
    }


@router.post(
    "/api/v1/ws-token",
    dependencies=[Depends(require_api_key)],
    response_model=BrowserToken,
    summary="A token valid for minutes, for ?token= in WebSocket and image URLs",
)
async def browser_token(services: ServicesDep) -> BrowserToken:
    token, expires = issue_token(services.settings.valid_keys[0], time.time())
    return BrowserToken(token=token, expires_at=expires)


router.add_api_websocket_route("/ws", snapshot_stream, name="snapshot_stream")
router.add_api_websocket_route("/", snapshot_stream, name="snapshot_stream_root")


@router.websocket("/api/v1/ws")
async def event_stream(websocket: WebSocket) -> None:
    """`hello` with the whole state first, then `{type, data}` events as they happen."""
    services = await _accept_authorised(websocket)
    if services is None:
        return
    handle = await services.hub.add_client(websocket, hello=services.hello)
    try:
        async for text in _messages(websocket):
            reply = _handle_message(text, handle)
            if reply is not None:
                handle.push(reply)
    finally:
        await services.hub.remove_client(handle)


def _handle_message(text: str | None, handle: ClientHandle) -> Event | None:
    """A client may subscribe to event types; anything else gets an `error` event."""
    if text is None:
        return Event.of(ErrorData(detail="binary frames are not understood; send JSON"))
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return Event.of(ErrorData(detail="message is not JSON"))
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return Event.of(ErrorData(detail='expected {"type": ..., "data": ...}'))
    if message["type"] == "subscribe":
        try:
            topics = parse_topics(message.get("data"))
        except InvalidEvent as exc:
            return Event.of(ErrorData(detail=str(exc)))
        handle.subscribe(topics)
        return None
    return Event.of(ErrorData(detail=f"unknown message type {message['type']!r}"))
