"""The default key never serves beyond loopback, however the server was started.

`trade-analysis serve` checks `--host` before it starts, but `uvicorn main:app
--host 0.0.0.0`, gunicorn and others never tell the app where they listen. So
the app looks at the sockets its own process listens on:

- at start-up: gunicorn, `--workers` and `--reload` hand inherited, already
  bound sockets to the process, so a public one fails the start-up (uvicorn and
  gunicorn then stop: a worker that cannot boot halts them);
- a single uvicorn process binds only after start-up, so until the check has
  seen the listening sockets every request runs it first, and a background
  watch runs it as soon as they appear. A public bind then answers nothing and
  the process exits.

With a key of your own none of this runs.
"""

from __future__ import annotations

import asyncio
import logging
import os

import psutil
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from trade_analysis.config import Settings, UnsafeConfiguration

logger = logging.getLogger(__name__)

# The exit status uvicorn gives a start-up failure; gunicorn's "worker failed to boot".
REFUSED_EXIT_STATUS = 3


def listening_addresses() -> list[str]:
    """The TCP addresses this process listens on, inherited sockets included."""
    return [
        connection.laddr.ip
        for connection in psutil.Process().net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]


class LoopbackGuard:
    """Whether this process's listening sockets are safe for the default key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.verified = False

    def check(self) -> None:
        """Raise UnsafeConfiguration for a public listener; verified once sockets were seen."""
        addresses = listening_addresses()
        for address in addresses:
            self.settings.check_bind_address(address)
        self.verified = bool(addresses)

    async def watch(self, every: float = 0.05) -> None:
        """After start-up, until the server has bound its sockets (the app's lifespan cancels
        it at shutdown; under a test client, which binds nothing, it watches until then)."""
        while not self.verified:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self.check)
            except UnsafeConfiguration as exc:
                refuse(exc)


class LoopbackGuardMiddleware:
    """Runs the guard's check before each request until it has seen the listening sockets."""

    def __init__(self, app: ASGIApp, guard: LoopbackGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.guard.verified or scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        try:
            self.guard.check()
        except UnsafeConfiguration as exc:
            if scope["type"] == "http":
                await JSONResponse({"detail": str(exc)}, status_code=503)(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            refuse(exc)
            return
        await self.app(scope, receive, send)


def refuse(exc: UnsafeConfiguration) -> None:
    """Nothing was served and nothing written: log why and end the process at once."""
    logger.critical("%s", exc)
    logging.shutdown()
    os._exit(REFUSED_EXIT_STATUS)
