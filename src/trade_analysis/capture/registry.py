"""The workers of this process, by window: never two for one window.

A worker is listed from its start until it is stopped, or parked: a bot whose
window is gone keeps its stopped worker listed under the old window until it
resumes (resumer.py remembers which). The registry also remembers which worker
the seed face's `/start` began, the one its `/status` and `/stop` speak of.

Each method is atomic. The capture manager changes the registry and the resume
waiting room together under a lock of its own, taken before this one.
"""

from __future__ import annotations

import threading

from trade_analysis.capture.worker import CaptureWorker


class WorkerRegistry:
    """Workers by window, and the window the seed face started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[int, CaptureWorker] = {}
        self._legacy_hwnd: int | None = None

    def get(self, hwnd: int) -> CaptureWorker | None:
        with self._lock:
            return self._workers.get(hwnd)

    def running(self, hwnd: int) -> CaptureWorker | None:
        """The worker capturing the window now, if any (not one parked there)."""
        worker = self.get(hwnd)
        return worker if worker is not None and worker.is_running else None

    def all(self) -> list[CaptureWorker]:
        with self._lock:
            return list(self._workers.values())

    def add(self, worker: CaptureWorker) -> CaptureWorker | None:
        """List the worker under its window, unless a running one holds it: then that
        one is returned and nothing changes."""
        with self._lock:
            holder = self._workers.get(worker.hwnd)
            if holder is not None and holder.is_running:
                return holder
            self._workers[worker.hwnd] = worker
            return None

    def remove(self, hwnd: int, *, unmark_legacy: bool = False) -> CaptureWorker | None:
        """Take the window's worker off the list; `unmark_legacy`: the seed face's
        worker, if it was this window's, is no longer."""
        with self._lock:
            if unmark_legacy and self._legacy_hwnd == hwnd:
                self._legacy_hwnd = None
            return self._workers.pop(hwnd, None)

    def remove_bot(self, bot: str) -> list[CaptureWorker]:
        """Take every worker of the bot off the list (running or parked); returns them."""
        with self._lock:
            taken = [w for w in self._workers.values() if w.config.bot == bot]
            for worker in taken:
                self._workers.pop(worker.hwnd, None)
            return taken

    def clear(self) -> list[CaptureWorker]:
        """Take every worker off the list; returns them."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
            self._legacy_hwnd = None
            return workers

    def runs(self, bot: str) -> bool:
        """Whether some worker captures for the bot now."""
        return any(w.config.bot == bot and w.is_running for w in self.all())

    def busy_windows(self) -> set[int]:
        """The windows being captured now."""
        return {w.hwnd for w in self.all() if w.is_running}

    def busy_bots(self, *, besides: int) -> set[str]:
        """The bots capturing now on a window other than `besides`."""
        return {
            w.config.bot
            for w in self.all()
            if w.is_running and w.hwnd != besides and w.config.bot is not None
        }

    # -- the seed face's worker --------------------------------------------------

    def mark_legacy(self, hwnd: int) -> None:
        with self._lock:
            self._legacy_hwnd = hwnd

    @property
    def legacy_hwnd(self) -> int | None:
        return self._legacy_hwnd

    def legacy(self) -> CaptureWorker | None:
        with self._lock:
            hwnd = self._legacy_hwnd
            return self._workers.get(hwnd) if hwnd is not None else None
