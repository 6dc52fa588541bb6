"""How the API controls capture: in this process, or through an agent over the bus.

Routes and live streams speak to a `CaptureControl`; `LocalCapture` wraps this
process's `CaptureManager` (blocking work in threads), `RemoteCapture`
(capture/agent.py) forwards the same calls to the one `trade-analysis agent`
that owns the workers when several API processes run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from trade_analysis.analysis import Crop
from trade_analysis.capture.frame import WindowInfo
from trade_analysis.capture.manager import CaptureManager


@dataclass(frozen=True)
class WorkerView:
    """A worker as the API shows it: status, last result and its newest thumbnail."""

    hwnd: int
    status: dict[str, Any]
    thumbnail_jpeg: bytes | None
    thumbnail_version: int

    @property
    def last_result(self) -> dict[str, Any] | None:
        result = self.status.get("last_result")
        return result if isinstance(result, dict) else None


class CaptureControl(Protocol):
    async def list_windows(self) -> list[dict[str, Any]]: ...

    async def start(
        self,
        hwnd: int,
        *,
        interval: float,
        keep_last_n: int,
        bring_to_foreground: bool | None,
        legacy: bool = False,
    ) -> dict[str, Any]: ...

    async def stop(self, hwnd: int) -> dict[str, Any]: ...

    async def stop_legacy(self) -> dict[str, Any] | None: ...

    async def stop_all(self) -> list[int]: ...

    async def legacy_status(self) -> dict[str, Any] | None: ...

    async def workers(self) -> list[WorkerView]: ...

    async def set_line_detect(self, enabled: bool) -> None: ...

    async def set_bring_to_foreground(self, enabled: bool) -> None: ...

    async def edit_global_crop(self, edges: Mapping[str, float]) -> Crop: ...

    async def edit_worker_crop(
        self, hwnd: int, edges: Mapping[str, float]
    ) -> tuple[Crop, bool]: ...

    async def reload_bot_settings(self, hwnd: int) -> bool: ...

    async def close(self) -> None: ...


def window_json(window: WindowInfo) -> dict[str, Any]:
    return asdict(window)


def worker_views(manager: CaptureManager) -> list[WorkerView]:
    return [
        WorkerView(w.hwnd, w.status(), w.thumbnail_jpeg, w.thumbnail_version)
        for w in manager.workers()
    ]


class LocalCapture:
    """Capture in this process: the embedded default (`serve` with one process)."""

    def __init__(self, manager: CaptureManager) -> None:
        self.manager = manager

    async def list_windows(self) -> list[dict[str, Any]]:
        windows = await run_in_threadpool(self.manager.list_windows)
        return [window_json(window) for window in windows]

    async def start(
        self,
        hwnd: int,
        *,
        interval: float,
        keep_last_n: int,
        bring_to_foreground: bool | None,
        legacy: bool = False,
    ) -> dict[str, Any]:
        return await run_in_threadpool(
            lambda: self.manager.start(
                hwnd,
                interval=interval,
                keep_last_n=keep_last_n,
                bring_to_foreground=bring_to_foreground,
                legacy=legacy,
            )
        )

    async def stop(self, hwnd: int) -> dict[str, Any]:
        return await run_in_threadpool(self.manager.stop, hwnd)

    async def stop_legacy(self) -> dict[str, Any] | None:
        return await run_in_threadpool(self.manager.stop_legacy)

    async def stop_all(self) -> list[int]:
        return await run_in_threadpool(self.manager.stop_all)

    async def legacy_status(self) -> dict[str, Any] | None:
        return self.manager.legacy_status()

    async def workers(self) -> list[WorkerView]:
        return worker_views(self.manager)

    async def set_line_detect(self, enabled: bool) -> None:
        self.manager.set_line_detect(enabled)

    async def set_bring_to_foreground(self, enabled: bool) -> None:
        self.manager.set_bring_to_foreground(enabled)

    async def edit_global_crop(self, edges: Mapping[str, float]) -> Crop:
        return await run_in_threadpool(self.manager.edit_global_crop, edges)

    async def edit_worker_crop(self, hwnd: int, edges: Mapping[str, float]) -> tuple[Crop, bool]:
        return await run_in_threadpool(self.manager.edit_worker_crop, hwnd, edges)

    async def reload_bot_settings(self, hwnd: int) -> bool:
        return await run_in_threadpool(self.manager.reload_bot_settings, hwnd)

    async def close(self) -> None:
        await run_in_threadpool(self.manager.stop_all)
