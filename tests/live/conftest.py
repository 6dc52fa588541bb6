"""Fixtures for the live stream core: the Redis fixture and a TCP proxy to cut it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from live_fakes import TcpProxy

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- Redis -----------------------------------------------------------------


def _redis_reachable() -> str | None:
    import socket

    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"Redis not reachable on {REDIS_HOST}:{REDIS_PORT}: {exc}"
    if not reply.startswith(b"+PONG"):
        return f"unexpected reply from {REDIS_HOST}:{REDIS_PORT}: {reply!r}"
    return None


@pytest.fixture
def redis_url() -> str:
    """A URL for the real Redis with a client name unique to this test."""
    problem = _redis_reachable()
    if problem is not None:
        if os.environ.get("TA_REQUIRE_E2E") == "1":
            pytest.fail(f"{problem} (TA_REQUIRE_E2E=1)")
        pytest.skip(problem)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0?client_name=ta-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def channel() -> str:
    return f"trade-analysis.test.{uuid.uuid4().hex}"


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
