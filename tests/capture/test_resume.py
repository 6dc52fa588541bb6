"""Bots outlive their windows: parked when a window goes, resumed on a matching one,
after a restart too; paused bots stay put; a window is never shared by two bots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.capture.test_worker_and_manager import ScriptedDesktop, chart
from tests.support.locks import database_held
from tests.support.xvfb import wait_until

from trade_analysis.capture.errors import BotNotFound, WindowTaken
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database, DatabaseTimeouts
from trade_analysis.storage import FileStore
from trade_analysis.trading.ledger import Ledger
from trade_analysis.trading.writer import LedgerWriter


class CountingDesktop(ScriptedDesktop):
    listings = 0

    def source(self):  # type: ignore[no-untyped-def]
        desktop = self
        source = super().source()
        listing = source.list_windows

        def counted():  # type: ignore[no-untyped-def]
            desktop.listings += 1
            return listing()

        source.list_windows = counted  # type: ignore[method-assign]
        return source


@pytest.fixture
def desktop() -> CountingDesktop:
    return CountingDesktop()


def open_manager(ledger: Ledger, desktop: ScriptedDesktop, tmp_path: Path) -> CaptureManager:
    return CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(ledger),
        source_factory=desktop.source,
    )


@pytest.fixture
def manager(ledger: Ledger, desktop: ScriptedDesktop, tmp_path: Path) -> Iterator[CaptureManager]:
    capture = open_manager(ledger, desktop, tmp_path)
    yield capture
    capture.shutdown()


def running_bot(manager: CaptureManager, hwnd: int) -> str:
    wait_until(lambda: manager.worker(hwnd).last_result is not None)
    bot = manager.worker(hwnd).status().bot
    assert bot is not None
    return bot


def test_a_bot_whose_window_goes_waits_and_resumes_on_a_matching_window(
    manager: CaptureManager, desktop: CountingDesktop
) -> None:
    desktop.show(11, "AAPL $175.23 - Robinhood", chart(rising=True))
    manager.start(11, interval=0.7)
    bot = running_bot(manager, 11)
    manager.start(11, interval=0.9)  # a running window takes the new interval, and keeps it
    desktop.close(11)
    wait_until(lambda: manager.worker(11).state == "window_gone")
    assert manager.look_for_windows() == []
    assert manager.worker(11).status().state == "waiting_for_window"
    assert manager.bot_state(bot).model_dump() == {
        "bot": bot,
        "hwnd": None,
        "state": "waiting_for_window",
    }
    desktop.show(12, "AAPL $180.01 - Robinhood", chart(rising=False))
    assert manager.look_for_windows() == [bot]
    assert [w.hwnd for w in manager.workers()] == [12]  # the parked entry is gone
    assert running_bot(manager, 12) == bot and manager.worker(12).config.interval == 0.9


def test_after_a_restart_capturing_bots_resume_and_stopped_or_paused_ones_do_not(
    ledger: Ledger, desktop: CountingDesktop, tmp_path: Path
) -> None:
    first = open_manager(ledger, desktop, tmp_path)
    for hwnd, title in [(1, "AAPL 1 - A"), (2, "MSFT 1 - A"), (3, "NVDA 1 - A")]:
        desktop.show(hwnd, title, chart(rising=True))
        first.start(hwnd, interval=0.5)
    bots = {hwnd: running_bot(first, hwnd) for hwnd in (1, 2, 3)}
    first.pause(bots[2])
    first.stop(3)
    first.shutdown()
    for hwnd in (1, 2, 3):  # the windows come back with new ids and new prices
        title = desktop.windows.pop(hwnd)[0].replace(" 1 ", " 2 ")
        desktop.show(hwnd + 10, title, chart(rising=False))

    second = open_manager(ledger, desktop, tmp_path)
    try:
        assert second.resume_saved() == [bots[1]]
        assert running_bot(second, 11) == bots[1]
        assert second.bot_state(bots[2]).state == "paused"
        assert second.bot_state(bots[3]).state == "stopped"
        second.resume(bots[2])
        assert running_bot(second, 12) == bots[2]
    finally:
        second.shutdown()


def test_a_look_lists_windows_only_while_a_bot_waits(
    manager: CaptureManager, desktop: CountingDesktop
) -> None:
    desktop.show(5, "AAPL 1 - A", chart(rising=True))
    manager.start(5, interval=0.5)
    before = desktop.listings
    for _ in range(3):
        manager.look_for_windows()
    assert desktop.listings == before


def test_two_windows_on_one_chart_are_two_bots_and_a_window_is_never_shared(
    manager: CaptureManager, desktop: CountingDesktop
) -> None:
    desktop.show(1, "AAPL 1 - A", chart(rising=True))
    desktop.show(2, "AAPL 2 - A", chart(rising=True))
    desktop.show(3, "MSFT 2 - A", chart(rising=True))
    manager.start(1, interval=0.5)
    manager.start(2, interval=0.5)
    first, second = running_bot(manager, 1), running_bot(manager, 2)
    assert first != second
    with pytest.raises(WindowTaken):
        manager.move(first, 2)
    with pytest.raises(BotNotFound):
        manager.move("nobody", 3)
    moved = manager.move(first, 3)
    assert (moved.hwnd, moved.state) == (3, "capturing")
    assert running_bot(manager, 3) == first and 1 not in {w.hwnd for w in manager.workers()}


def test_a_window_started_while_the_database_is_held_is_bound_once_it_is_back(
    tmp_path: Path, desktop: CountingDesktop
) -> None:
    """SQLite's write lock is what capture meets when another process writes for long."""
    url = f"sqlite:///{tmp_path / 'held.db'}"
    upgrade(url)
    database = Database(url, DatabaseTimeouts(lock=0.2, statement=5))
    ledger = Ledger(database)
    writer = LedgerWriter(ledger, FileStore(tmp_path / "uploads"))
    writer.start()
    manager = CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(writer),
        source_factory=desktop.source,
    )
    try:
        desktop.show(7, "AAPL 100.00 - Feed", chart(rising=True))
        with database_held(url):
            status = manager.start(7, interval=0.5)
            assert status.bot == "aapl-feed-chart" and ledger.bot_capture(status.bot) is None
        wait_until(lambda: ledger.bot_capture("aapl-feed-chart") is not None)  # the reading
        manager.look_for_windows()
        stored = ledger.bot_capture("aapl-feed-chart")
        assert stored is not None and (stored.hwnd, stored.state) == (7, "capturing")
    finally:
        manager.shutdown()
        writer.close()
        database.dispose()
