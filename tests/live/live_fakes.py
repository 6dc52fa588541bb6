"""Fake live clients and a polling helper shared by the live tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `predicate` on the loop (no fixed sleeps: yields until true, fails after timeout)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.001)


class RecordingClient:
    """A fast client that keeps what it was sent."""

    def __init__(self, name: str = "client") -> None:
        self.name = name
        self.texts: list[str] = []
        self.times: list[float] = []
        self.closed: tuple[int, str] | None = None
        self.changed = asyncio.Event()

    async def send_text(self, data: str, /) -> None:
        self.texts.append(data)
        self.times.append(time.perf_counter())
        self.changed.set()

    async def close(self, code: int, reason: str, /) -> None:
        self.closed = (code, reason)
        self.changed.set()

    async def wait_for_count(self, n: int, within: float = 5.0) -> None:
        await wait_until(lambda: len(self.texts) >= n, within)


class StalledClient(RecordingClient):
    """Stops reading: every send blocks forever (until cancelled)."""

    def __init__(self, name: str = "stalled") -> None:
        super().__init__(name)
        self.attempts = 0

    async def send_text(self, data: str, /) -> None:
        self.attempts += 1
        await asyncio.Event().wait()


class GatedClient(RecordingClient):
    """A slow client: each send waits until the test opens the gate."""

    def __init__(self, name: str = "slow") -> None:
        super().__init__(name)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send_text(self, data: str, /) -> None:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        await super().send_text(data)


class TcpProxy:
    """A TCP forwarder we can take down and bring back, to play a Redis outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in tuple(self._writers):
            writer.transport.abort()
        for task in tuple(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(tuple(self._tasks))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        tasks = [
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ]
        self._tasks.update(tasks)
        for task in tasks:
            task.add_done_callback(self._tasks.discard)
        await asyncio.wait(tasks)
        self._writers.difference_update((writer, up_writer))
