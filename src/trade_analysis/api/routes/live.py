"""WebSockets: the seed's snapshot stream (`/ws`, `/`) and the typed event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect

from trade_analysis.aio import running
from trade_analysis.api.credentials import TokenScope, credential_expiry, issue_token
from trade_analysis.api.deps import ServicesDep, require_api_key
from trade_analysis.api.schemas import BrowserToken
from trade_analysis.live import ClientHandle, Event, InvalidEvent, parse_topics
from trade_analysis.services import Services
from trade_analysis.wire import ErrorData

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"])
POLICY_VIOLATION = 1008
TOKEN_EXPIRED = 4401
# A close reason has room for 123 bytes: the message to send is documented in docs/deploy.md.
EXPIRED_REASON = 'token expired: send {"type": "renew", "data": {"token": ...}} before it does'


def _given_key(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    header = websocket.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


class Lease:
    """Until when an open socket may stay open: its token's expiry, or never with the key.

    A token can be swapped for a fresher one (`renew`), never lengthened by itself,
    so whoever keeps a socket open past a token's minutes holds the key.
    """

    def __init__(self, expires: float) -> None:
        self.expires = expires
        self._renewed = asyncio.Event()

    def renew(self, services: Services, given: object) -> str | None:
        """Take a fresher credential; a reason when it is refused."""
        if not isinstance(given, str) or not given:
            return 'renew needs {"token": <socket token or key>}'
        keys = services.settings.valid_keys
        expires = credential_expiry(keys, given, time.time(), TokenScope.SOCKET)
        if expires is None:
            return "renew refused: wrong API key, or a token expired or not for the socket"
        self.expires = max(self.expires, expires)
        self._renewed.set()
        return None

    async def enforce(self, websocket: WebSocket) -> None:
        """Close the socket with 4401 once the lease runs out (cancelled when it ends first)."""
        while (remaining := self.expires - time.time()) > 0:
            self._renewed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 3600)):
                    await self._renewed.wait()
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            await websocket.close(TOKEN_EXPIRED, EXPIRED_REASON)


async def _accept_authorised(websocket: WebSocket) -> tuple[Services, Lease] | None:
    """Accept, then close with 1008 unless the key or a socket token is given (browsers
    can't set headers)."""
    services: Services = websocket.app.state.services
    await websocket.accept()
    given = _given_key(websocket)
    expires = (
        None
        if given is None
        else credential_expiry(services.settings.valid_keys, given, time.time(), TokenScope.SOCKET)
    )
    if expires is None:
        reason = (
            "missing token: add ?token= (from POST /api/v1/ws-token)"
            if given is None
            else "wrong API key, or a token expired or not for the socket"
        )
        await websocket.close(code=POLICY_VIOLATION, reason=reason)
        return None
    return services, Lease(expires)


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


def _renewal(text: str | None) -> tuple[bool, object]:
    """Whether `text` is a `renew` message, and the credential it carries."""
    if text is None or '"renew"' not in text:
        return False, None
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return False, None
    if not isinstance(message, dict) or message.get("type") != "renew":
        return False, None
    data = message.get("data")
    return True, data.get("token") if isinstance(data, dict) else None


async def snapshot_stream(websocket: WebSocket) -> None:
    """The seed's stream: it ignores what clients send but `renew`."""
    accepted = await _accept_authorised(websocket)
    if accepted is None:
        return
    services, lease = accepted
    stream = services.snapshots
    client_id = await stream.add(websocket)
    try:
        async with running(lease.enforce(websocket), "socket-lease"):
            async for text in _messages(websocket):
                is_renewal, given = _renewal(text)
                if is_renewal:
                    lease.renew(services, given)
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
async def browser_token(
    services: ServicesDep,
    scope: Annotated[
        list[TokenScope] | None,
        Query(description="what the token opens (repeatable); the socket when not given"),
    ] = None,
) -> BrowserToken:
    scopes = sorted(set(scope or [TokenScope.SOCKET]))
    settings = services.settings
    ttl = settings.token_ttl_seconds
    token, expires = issue_token(settings.valid_keys[0], time.time(), scopes, ttl)
    return BrowserToken(token=token, expires_at=expires, lifetime_seconds=ttl, scopes=scopes)


router.add_api_websocket_route("/ws", snapshot_stream, name="snapshot_stream")
router.add_api_websocket_route("/", snapshot_stream, name="snapshot_stream_root")


@router.websocket("/api/v1/ws")
async def event_stream(websocket: WebSocket) -> None:
    """`hello` with the whole state first, then `{type, data}` events as they happen."""
    accepted = await _accept_authorised(websocket)
    if accepted is None:
        return
    services, lease = accepted
    handle = await services.hub.add_client(websocket, hello=services.hello)
    try:
        async with running(lease.enforce(websocket), "socket-lease"):
            async for text in _messages(websocket):
                reply = _reply(text, handle, lease, services)
                if reply is not None:
                    handle.push(reply)
    finally:
        await services.hub.remove_client(handle)


def _reply(
    text: str | None, handle: ClientHandle, lease: Lease, services: Services
) -> Event | None:
    is_renewal, given = _renewal(text)
    if not is_renewal:
        return _handle_message(text, handle)
    refused = lease.renew(services, given)
    return None if refused is None else Event.of(ErrorData(detail=refused))


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
