"""Run a job after something changed, at most once per interval, whatever the rate of changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from trade_analysis.aio import cancel_and_wait

logger = logging.getLogger(__name__)


class Coalescer:
    """`poke()` says "changed"; the job runs soon after, once for a whole burst of pokes.

    The first poke after a quiet spell runs the job at once; pokes while it runs,
    or within `interval` after, make one more run when the interval is over.
    So the job (a database read and a broadcast, say) costs the same at one
    change a minute as at a thousand a second, and the last change is never missed.
    """

    def __init__(self, job: Callable[[], Awaitable[None]], interval: float) -> None:
        self._job = job
        self._interval = interval
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="coalescer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def poke(self) -> None:
        """From the event loop's thread."""
        self._changed.set()

    def poke_threadsafe(self) -> None:
        """From any other thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
                self._loop.call_soon_threadsafe(self._changed.set)

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._job()
            except Exception:  # the next change runs it again; one failure must not stop it
                logger.exception("coalesced job failed")
            await asyncio.sleep(self._interval)
