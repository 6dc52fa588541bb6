"""Per request: an id (for log lines and the `X-Request-ID` header) and its latency by route.

Pure ASGI rather than `BaseHTTPMiddleware`: that one runs each request in a
second task and costs the busiest route more than everything measured here.
"""

from __future__ import annotations

import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trade_analysis.logs import REQUEST_ID
from trade_analysis.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
# An id a proxy in front already gave the request is kept, when it looks like one.
_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _CLIENT_ID.match(value):
            return str(value.decode())
    return secrets.token_hex(8)


def route_template(scope: Scope) -> str:
    """`/bots/{hwnd}`, not `/bots/12345`: one series per route, whatever the ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if kind == "http" and self.metrics is not None:
                self.metrics.observe_request(
                    scope["method"], route_template(scope), status, time.perf_counter() - started
                )
            REQUEST_ID.reset(token)
