"""How the API controls capture: in this process, or through an agent over the bus.

Routes and live streams speak to a `CaptureControl`: `run(command, arguments)`
for the commands of capture/commands.py, and `workers()` / `legacy_status()`
for what the workers report. `LocalCapture` runs the commands on this
process's `CaptureManager` (in threads: they block); `RemoteCapture`
(capture/agent.py) sends them to the one `trade-analysis agent` that owns the
workers when several API processes run.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from trade_analysis.capture.commands import Command
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.wire import WorkerStatus
from trade_analysis.wire import WorkerView as WorkerView

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT")


class CaptureControl(Protocol):
    async def run(self, command: Command[RequestT, ResultT], arguments: RequestT) -> ResultT: ...

    async def workers(self) -> list[WorkerView]: ...

    async def legacy_status(self) -> WorkerStatus | None: ...

    async def close(self) -> None: ...


def worker_views(manager: CaptureManager) -> list[WorkerView]:
    return [
        WorkerView(w.hwnd, w.status(), w.thumbnail_jpeg, w.thumbnail_version)
        for w in manager.workers()
    ]


class LocalCapture:
    """Capture in this process: the embedded default (`serve` with one process)."""

    def __init__(self, manager: CaptureManager) -> None:
        self.manager = manager

    async def run(self, command: Command[RequestT, ResultT], arguments: RequestT) -> ResultT:
        return await run_in_threadpool(command.run, self.manager, arguments)

    async def legacy_status(self) -> WorkerStatus | None:
        return self.manager.legacy_status()

    async def workers(self) -> list[WorkerView]:
        return worker_views(self.manager)

    async def close(self) -> None:
        # Not `stop_all`: the bots that were capturing resume at the next start.
        await run_in_threadpool(self.manager.shutdown)
