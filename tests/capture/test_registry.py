"""The registry of workers: one per window, parked workers apart from running ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.capture.test_worker_and_manager import ScriptedDesktop, chart

from trade_analysis.capture.registry import WorkerRegistry
from trade_analysis.capture.worker import CaptureWorker, Reading, WorkerConfig


def _ignore(_worker: CaptureWorker, _reading: Reading) -> None:
    return None


@pytest.fixture
def desktop() -> ScriptedDesktop:
    desktop = ScriptedDesktop()
    for hwnd in (1, 2, 3):
        desktop.show(hwnd, f"chart {hwnd}", chart(rising=True))
    return desktop


@pytest.fixture
def made() -> Iterator[list[CaptureWorker]]:
    workers: list[CaptureWorker] = []
    yield workers
    for worker in workers:
        worker.stop()


@pytest.fixture
def worker(desktop: ScriptedDesktop, tmp_path: Path, made: list[CaptureWorker]):
    def make(hwnd: int, bot: str | None, *, running: bool = True) -> CaptureWorker:
        config = WorkerConfig(hwnd=hwnd, bot=bot, output_folder=tmp_path / str(hwnd))
        made.append(worker := CaptureWorker(config, desktop.source, _ignore))
        if running:
            worker.start()
        return worker

    return make


def test_a_window_held_by_a_running_worker_takes_no_second_one(worker) -> None:
    registry = WorkerRegistry()
    first = worker(1, "a")
    assert registry.add(first) is None
    assert registry.add(worker(1, "b", running=False)) is first
    assert registry.get(1) is first
    assert registry.all() == [first]


def test_a_parked_worker_gives_its_window_to_a_new_one(worker) -> None:
    registry = WorkerRegistry()
    parked = worker(1, "a", running=False)
    registry.add(parked)
    assert registry.running(1) is None
    assert registry.busy_windows() == set()
    fresh = worker(1, "a")
    assert registry.add(fresh) is None
    assert registry.running(1) is fresh


def test_busy_bots_and_windows_count_running_workers_only(worker) -> None:
    registry = WorkerRegistry()
    for hwnd, bot, running in ((1, "a", True), (2, "b", True), (3, "c", False)):
        registry.add(worker(hwnd, bot, running=running))
    assert registry.busy_windows() == {1, 2}
    assert registry.busy_bots(besides=1) == {"b"}
    assert registry.runs("a") and not registry.runs("c")


def test_removing_a_bot_takes_all_its_workers_running_or_parked(worker) -> None:
    registry = WorkerRegistry()
    kept = worker(3, "b")
    for hwnd, bot, running in ((1, "a", True), (2, "a", False), (3, "b", True)):
        registry.add(kept if hwnd == 3 else worker(hwnd, bot, running=running))
    taken = registry.remove_bot("a")
    assert sorted(w.hwnd for w in taken) == [1, 2]
    assert registry.all() == [kept]


def test_the_seed_faces_worker_is_forgotten_only_when_asked(worker) -> None:
    registry = WorkerRegistry()
    legacy = worker(1, "a")
    registry.add(legacy)
    registry.mark_legacy(1)
    assert registry.legacy() is legacy
    registry.remove(1)
    assert registry.legacy() is None and registry.legacy_hwnd == 1
    registry.add(legacy)
    assert registry.remove(1, unmark_legacy=True) is legacy
    assert registry.legacy_hwnd is None


def test_clearing_returns_every_worker_and_forgets_the_seed_faces(worker) -> None:
    registry = WorkerRegistry()
    workers = [worker(hwnd, str(hwnd)) for hwnd in (1, 2)]
    for each in workers:
        registry.add(each)
    registry.mark_legacy(2)
    assert sorted(w.hwnd for w in registry.clear()) == [1, 2]
    assert registry.all() == [] and registry.legacy() is None and registry.legacy_hwnd is None


def test_an_unknown_window_has_no_worker() -> None:
    registry = WorkerRegistry()
    assert registry.get(9) is None and registry.running(9) is None
    assert registry.remove(9) is None and registry.remove_bot("x") == []
    assert registry.all() == []
