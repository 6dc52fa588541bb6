"""Request bodies: the key before any byte of one is read, and a size for each kind of route.

FastAPI reads a route's body before it runs the route's dependencies, the key
check among them; so without this an unauthenticated client could make the
server take in a whole body just to be told 401. Here a request that carries
a body is answered 401/403 from its headers alone unless it has the key (every
route that takes a body is behind the key).

Only the uploads (`/ingest` and its typed twin) take MAX_UPLOAD_BYTES; every
other route takes MAX_JSON_BYTES, a few KiB, which is more than any of their
JSON needs. A body over its limit gets a 413: by `Content-Length` before it is
read, or as soon as a streamed body passes it.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trade_analysis.api.deps import key_problem
from trade_analysis.config import Settings

# Room for the form's other fields and multipart boundaries around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
UPLOAD_PATHS = frozenset({"/ingest", "/api/v1/ingest"})
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def _too_large(limit: int, setting: str) -> HTTPException:
    return HTTPException(413, f"request body larger than {setting} ({limit} bytes)")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope.get("headers") or [])


def has_body(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    declared = headers.get(b"content-length")
    if declared is not None:
        return declared.strip() not in (b"", b"0")
    return b"transfer-encoding" in headers or scope["method"] not in _BODILESS


class BodySizeLimit:
    """Pure ASGI middleware: the key, then the size, before the body is read."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.keys = settings.valid_keys
        self.max_upload_bytes = settings.max_upload_bytes
        self.max_json_bytes = settings.max_json_bytes

    def limit(self, path: str) -> tuple[int, int, str]:
        """The bytes allowed on `path`, the figure to tell, and the setting that sets it."""
        if path.rstrip("/") in UPLOAD_PATHS:
            upload = self.max_upload_bytes
            return upload + FORM_OVERHEAD_BYTES, upload, "MAX_UPLOAD_BYTES"
        return self.max_json_bytes, self.max_json_bytes, "MAX_JSON_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not has_body(scope, headers):
            await self.app(scope, receive, send)
            return
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        problem = key_problem(self.keys, authorization or None)
        if problem is not None:
            await self._reject(scope, receive, send, problem)
            return
        limit, told, setting = self.limit(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, _too_large(told, setting))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(told, setting)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, problem: HTTPException
    ) -> None:
        """Answer and close: the body left unread must not be taken for the next request."""
        headers = {**(problem.headers or {}), "Connection": "close"}
        response = JSONResponse({"detail": problem.detail}, problem.status_code, headers=headers)
        await response(scope, receive, send)
