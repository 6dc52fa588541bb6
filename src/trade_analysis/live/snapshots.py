"""The seed's once-a-second snapshot stream (`/ws` and `/`), built once per tick for everyone.

A snapshot carries a window's thumbnail only to clients that have not had its
newest version yet: each client remembers what it was sent, so one that
skipped snapshots (it was slow) still gets every window's newest thumbnail,
exactly once. Clients in step receive the same text, encoded once per tick.
Each client has a one-snapshot mailbox: a client that cannot keep up skips to
the newest snapshot instead of building a backlog, and never delays the others.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from trade_analysis.aio import cancel_and_wait
from trade_analysis.live import LiveClient

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0


Thumbnail = tuple[int, str]  # a window's thumbnail version and its base64 JPEG


@dataclass
class Snapshot:
    """One tick's payload without thumbnails, and the thumbnails it may carry.

    `payload["workers"]` entries are sent with `screenshot_b64` filled in only
    for the windows a client has not had the current thumbnail of.
    """

    payload: dict[str, Any]
    thumbnails: dict[int, Thumbnail]
    legacy_hwnd: int | None = None
    _texts: dict[frozenset[int], str] = field(default_factory=dict)

    def text_for(self, sent: dict[int, int]) -> str:
        """The JSON for a client that was sent `sent` (hwnd: version), which it updates."""
        due = frozenset(
            hwnd for hwnd, (version, _) in self.thumbnails.items() if sent.get(hwnd) != version
        )
        text = self._texts.get(due)
        if text is None:
            text = self._texts[due] = json.dumps(
                self._with(due), separators=(",", ":"), default=str
            )
        for hwnd in due:
            sent[hwnd] = self.thumbnails[hwnd][0]
        return text

    def _with(self, due: frozenset[int]) -> dict[str, Any]:
        workers = [
            {**worker, "screenshot_b64": self.thumbnails[worker["hwnd"]][1]}
            if worker["hwnd"] in due
            else worker
            for worker in self.payload["workers"]
        ]
        legacy = self.legacy_hwnd
        shot = self.thumbnails[legacy][1] if legacy is not None and legacy in due else None
        return {**self.payload, "workers": workers, "screenshot_b64": shot}


class _Mailbox:
    def __init__(self, client: LiveClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[Snapshot] = asyncio.Queue(maxsize=1)
        self.sent: dict[int, int] = {}  # the thumbnail versions this client has
        self.task: asyncio.Task[None] | None = None

    def offer(self, snapshot: Snapshot) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()  # newest wins
        self.queue.put_nowait(snapshot)

    async def run(self) -> None:
        while True:
            text = (await self.queue.get()).text_for(self.sent)
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
    def __init__(self, build: Callable[[], Awaitable[Snapshot]], interval: float = 1.0) -> None:
        """`build()` makes one tick's snapshot."""
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
        mailbox.offer(await self._build())  # a new client has no thumbnail: it gets them all
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
                snapshot = await self._build()
            except Exception:
                logger.exception("building the snapshot failed")
                continue
            for mailbox in list(self._clients.values()):
                mailbox.offer(snapshot)


class ThumbnailCache:
    """Each window's newest thumbnail in base64, encoded once per version."""

    def __init__(self) -> None:
        self._encoded: dict[int, Thumbnail] = {}

    def encoded(self, hwnd: int, version: int, jpeg: bytes) -> Thumbnail:
        cached = self._encoded.get(hwnd)
        if cached is None or cached[0] != version:
            cached = self._encoded[hwnd] = (version, base64.b64encode(jpeg).decode())
        return cached
