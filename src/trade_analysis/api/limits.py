"""Refuse oversized uploads before they are read: by Content-Length, or while streaming."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the form's other fields and multipart boundaries around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"upload larger than MAX_UPLOAD_BYTES ({limit} bytes)")


class BodySizeLimit:
    """Pure ASGI middleware: a request body over the limit gets a 413, never a full read."""

    def __init__(self, app: ASGIApp, max_file_bytes: int) -> None:
        self.app = app
        self.limit = max_file_bytes + FORM_OVERHEAD_BYTES
        self.max_file_bytes = max_file_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _too_large(self.max_file_bytes)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, send: Send) -> None:
        body = b'{"detail":"upload larger than MAX_UPLOAD_BYTES (%d bytes)"}' % self.max_file_bytes
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
