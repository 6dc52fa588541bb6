"""The seed's once-a-second snapshot stream (`/ws` and `/`), built once per tick for everyone.

A snapshot carries each worker's thumbnail only when it changed since the last
tick (a new client gets every current thumbnail once, first). Each client has
a one-message mailbox: a client that cannot keep up skips to the newest
snapshot instead of building a backlog, and never delays the others.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from trade_analysis.aio import cancel_and_wait
from trade_analysis.live import LiveClient

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0


class _Mailbox:
    def __init__(self, client: LiveClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self.task: asyncio.Task[None] | None = None

    def offer(self, text: str) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()  # newest wins
        self.queue.put_nowait(text)

    async def run(self) -> None:
        while True:
            text = await self.queue.get()
            try:
                # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that lands as the
                # send completes, and this task then waits on the queue forever.
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self.client.send_text(text)
            except Exception:  # a dead or stalled socket: stop serving it
                with contextlib.suppress(Exception):
                    await self.client.close(1013, "too slow for the snapshot stream")
                return


class SnapshotStream:
    def __init__(
        self, build: Callable[[bool], Awaitable[dict[str, Any]]], interval: float = 1.0
    ) -> None:
        """`build(full)` makes the payload; `full` asks for every thumbnail, not just changed."""
        self._build = build
        self._interval = interval
        self._clients: dict[int, _Mailbox] = {}
        self._ids = iter(range(1, 1 << 62))
        self._ticker: asyncio.Task[None] | None = None
        self._senders: set[asyncio.Task[None]] = set()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def background_tasks(self) -> int:
        """Client sender tasks still alive (for leak checks): `client_count` once settled."""
        return len(self._senders)

    async def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever(), name="snapshot-stream")

    async def stop(self) -> None:
        await cancel_and_wait(self._ticker)
        for client_id in list(self._clients):
            await self.remove(client_id)

    async def add(self, client: LiveClient) -> int:
        mailbox = _Mailbox(client)
        first = await self._build(True)
        mailbox.offer(json.dumps(first, separators=(",", ":"), default=str))
        client_id = next(self._ids)
        self._clients[client_id] = mailbox
        mailbox.task = asyncio.create_task(mailbox.run(), name=f"snapshot-client-{client_id}")
        self._senders.add(mailbox.task)
        mailbox.task.add_done_callback(self._senders.discard)
        return client_id

    async def remove(self, client_id: int) -> None:
        mailbox = self._clients.pop(client_id, None)
        if mailbox is None or mailbox.task is None:
            return
        task = mailbox.task
        # Cancel until it is done: awaiting a task whose cancel was lost would hang this
        # connection's handler, and with it the server's graceful shutdown.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if not self._clients:
                continue
            try:
                payload = await self._build(False)
            except Exception:
                logger.exception("building the snapshot failed")
                continue
            text = json.dumps(payload, separators=(",", ":"), default=str)  # once for all
            for mailbox in list(self._clients.values()):
                mailbox.offer(text)


class ThumbnailTracker:
    """Which thumbnails changed since the last tick, so each is base64-encoded once."""

    def __init__(self) -> None:
        self._sent: dict[int, int] = {}
        self._encoded: dict[int, tuple[int, str]] = {}

    def encoded(self, hwnd: int, version: int, jpeg: bytes | None) -> str | None:
        if jpeg is None:
            return None
        cached = self._encoded.get(hwnd)
        if cached is None or cached[0] != version:
            cached = (version, base64.b64encode(jpeg).decode())
            self._encoded[hwnd] = cached
        return cached[1]

    def changed(self, hwnd: int, version: int) -> bool:
        if self._sent.get(hwnd) == version:
            return False
        self._sent[hwnd] = version
        return True
