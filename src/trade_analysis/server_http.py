"""uvicorn's HTTP protocol with two bounds it lacks: a header read timeout and a header size.

uvicorn waits for a request's headers for as long as a client takes to send
them and, with httptools, takes headers of any size; a client dripping bytes
can hold connections open for ever (slowloris). This protocol gives a client
HEADER_TIMEOUT_SECONDS from the first byte of a request (or from connecting)
to the end of its headers, then drops the connection, and answers 400 to a
request line and headers over MAX_HEADER_BYTES.

`trade-analysis serve` and `python main.py` use it; with `uvicorn main:app`
pass `--http trade_analysis.server_http:BoundedHttpToolsProtocol` (and
`--ws-max-size`, see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trade_analysis.config import Settings

logger = logging.getLogger("uvicorn.error")

PROTOCOL = f"{__name__}:BoundedHttpToolsProtocol"


@functools.cache
def _bounds() -> tuple[float, int]:
    """Read once per process, from the environment as the app reads its settings."""
    settings = Settings()
    return settings.header_timeout_seconds, settings.max_header_bytes


class HeadersTooLarge(httptools.HttpParserError):
    """Raised inside the parser's callback: uvicorn answers it with a 400."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        limit = _bounds()[1]
        if self._header_bytes > limit:
            raise HeadersTooLarge(f"request line and headers over MAX_HEADER_BYTES ({limit})")

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_bounds()[0], self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # headers done and the request under way (a keep-alive race)
        logger.info(
            "closed a connection whose request headers took over %gs (HEADER_TIMEOUT_SECONDS)",
            _bounds()[0],
        )
        self.transport.close()
