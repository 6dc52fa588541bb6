"""The seed snapshot stream: thumbnails tracked per client, so a slow one misses none."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from live_fakes import GatedClient, RecordingClient, wait_until

from trade_analysis.live.snapshots import Snapshot, SnapshotStream, ThumbnailCache

pytestmark = pytest.mark.anyio


class Desktop:
    """Windows whose thumbnails a test changes; `build` makes the tick's snapshot."""

    def __init__(self) -> None:
        self.versions: dict[int, int] = {}
        self.cache = ThumbnailCache()
        self.ticks = 0

    def change(self, hwnd: int) -> None:
        self.versions[hwnd] = self.versions.get(hwnd, 0) + 1

    async def build(self) -> Snapshot:
        self.ticks += 1
        workers = [
            {"hwnd": hwnd, "status": {}, "screenshot_b64": None, "last_result": {}}
            for hwnd in sorted(self.versions)
        ]
        thumbnails = {
            hwnd: self.cache.encoded(hwnd, version, f"{hwnd}-v{version}".encode())
            for hwnd, version in self.versions.items()
        }
        payload = {"timestamp": self.ticks, "status": {}, "workers": workers}
        return Snapshot({**payload, "trade_summary": {}, "screenshot_b64": None}, thumbnails, 1)


def thumbnails_received(client: RecordingClient) -> list[tuple[int, str]]:
    """Every (hwnd, thumbnail) the client was sent, in order."""
    received = []
    for text in client.texts:
        for worker in json.loads(text)["workers"]:
            if worker["screenshot_b64"] is not None:
                shot = base64.b64decode(worker["screenshot_b64"]).decode()
                received.append((worker["hwnd"], shot))
    return received


async def test_a_client_that_skipped_snapshots_still_gets_each_newest_thumbnail_once() -> None:
    desktop = Desktop()
    desktop.change(1)
    stream = SnapshotStream(desktop.build, interval=0.01)
    await stream.start()
    fast, slow = RecordingClient("fast"), GatedClient("slow")
    try:
        await stream.add(fast)
        await stream.add(slow)
        await wait_until(lambda: slow.waiting == 1)  # its first send is stuck
        for hwnd in (1, 2, 1, 2, 1):
            ticks = desktop.ticks
            desktop.change(hwnd)
            await wait_until(lambda ticks=ticks: desktop.ticks >= ticks + 2)
        # The fast client saw every version of every window, each once.
        await wait_until(lambda: (1, "1-v4") in thumbnails_received(fast))
        assert thumbnails_received(fast) == [
            (1, "1-v1"),
            (1, "1-v2"),
            (2, "2-v1"),
            (1, "1-v3"),
            (2, "2-v2"),
            (1, "1-v4"),
        ]

        slow.gate.set()
        await wait_until(lambda: len(slow.texts) >= 4)
        slow_seen = thumbnails_received(slow)
        # It skipped the ticks that carried v2, v3 of window 1 and v1 of window 2, yet has
        # the newest of each, exactly once, and nothing twice.
        assert slow_seen == [(1, "1-v1"), (1, "1-v4"), (2, "2-v2")]
        later: list[dict[str, Any]] = [json.loads(t) for t in slow.texts[2:]]
        assert all(w["screenshot_b64"] is None for s in later for w in s["workers"])
    finally:
        await stream.stop()
