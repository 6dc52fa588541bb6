"""Capture workers and their manager, driven by a scripted window source.

The X11 tests capture real windows; these pin down the worker's own rules
(change detection, prompt stop, one loop per window, screenshots kept, crops
saved) with frames whose content the test controls exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from tests.support.locks import database_held
from tests.support.xvfb import wait_until

from trade_analysis.analysis import Crop
from trade_analysis.capture.frame import Frame, WindowInfo
from trade_analysis.capture.manager import CaptureManager, InvalidWindow, UnknownWorker
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.capture.sources.base import WindowGone
from trade_analysis.capture.worker import THUMBNAIL_WIDTH, encode_thumbnail
from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database, DatabaseTimeouts
from trade_analysis.domain import utcnow
from trade_analysis.storage import FileStore
from trade_analysis.trade_frames import TradeFrames
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.ledger import Ledger
from trade_analysis.trading.writer import LedgerWriter
from trade_analysis.wire import event_type_of


def chart(rising: bool, shift: int = 0, width: int = 320, height: int = 200) -> np.ndarray:
    """A white chart with a dark line that ends rising or falling."""
    pixels = np.full((height, width, 3), 255, np.uint8)
    xs = np.arange(20, width - 20)
    half = len(xs) // 2
    ys = np.concatenate([np.linspace(60, 140, half), np.linspace(140, 60, len(xs) - half)])
    if not rising:
        ys = height - ys
    points = np.stack([xs, ys + shift % 5], axis=1).astype(np.int32)
    cv2.polylines(pixels, [points], False, (40, 160, 40), 2, cv2.LINE_AA)
    return pixels


class ScriptedDesktop:
    """Windows whose title and pixels a test sets; sources made from it count captures."""

    def __init__(self) -> None:
        self.windows: dict[int, tuple[str, np.ndarray]] = {}
        self.captures: dict[int, int] = {}
        self.lock = threading.Lock()

    def show(self, hwnd: int, title: str, pixels: np.ndarray) -> None:
        with self.lock:
            self.windows[hwnd] = (title, pixels)

    def close(self, hwnd: int) -> None:
        with self.lock:
            self.windows.pop(hwnd, None)

    def source(self) -> ScriptedSource:
        return ScriptedSource(self)


class ScriptedSource:
    def __init__(self, desktop: ScriptedDesktop) -> None:
        self.desktop = desktop

    def list_windows(self) -> list[WindowInfo]:
        with self.desktop.lock:
            return [
                WindowInfo(hwnd, title, "chart", 0, 0, pixels.shape[1], pixels.shape[0])
                for hwnd, (title, pixels) in self.desktop.windows.items()
            ]

    def capture(self, hwnd: int) -> Frame:
        with self.desktop.lock:
            if hwnd not in self.desktop.windows:
                raise WindowGone(hwnd)
            title, pixels = self.desktop.windows[hwnd]
            self.desktop.captures[hwnd] = self.desktop.captures.get(hwnd, 0) + 1
        return Frame(hwnd, title, pixels.copy(), utcnow(), "composite")

    def bring_to_front(self, hwnd: int) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def desktop() -> ScriptedDesktop:
    return ScriptedDesktop()


@pytest.fixture
def events() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def manager(
    ledger: Ledger, desktop: ScriptedDesktop, tmp_path: Path, events: list
) -> Iterator[CaptureManager]:
    capture = CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(
            ledger,
            notify=lambda data: events.append((event_type_of(data), data.model_dump(mode="json"))),
            on_trade=lambda trade_id, trade: events.append(
                ("trade", {"id": trade_id, "side": trade.side.value})
            ),
        ),
        source_factory=desktop.source,
    )
    yield capture
    capture.stop_all()


def test_a_changed_frame_is_read_stored_and_traded(manager, desktop, events) -> None:
    desktop.show(11, "AAPL $175.23 - Robinhood", chart(rising=True))
    status = manager.start(11, interval=0.5).model_dump()
    assert status["target_window"]["hwnd"] == 11 and status["interval"] == 0.5
    worker = manager.worker(11)
    wait_until(lambda: worker.last_result is not None)
    result = worker.last_result.model_dump()
    assert result["ticker"] == "AAPL" and result["price"] == "$175.23"
    assert result["price_value"] == 175.23 and result["trend"] == "up"
    assert result["timestamp"].endswith("Z") and Path(result["image_path"]).is_file()
    wait_until(lambda: any(kind == "trade" for kind, _ in events))
    assert ("trade", {"id": 1, "side": "buy"}) in events


def test_an_unchanged_frame_is_not_read_again(manager, desktop) -> None:
    desktop.show(12, "TSLA 250.00 - Feed", chart(rising=False))
    manager.start(12, interval=0.5)
    worker = manager.worker(12)
    wait_until(lambda: desktop.captures.get(12, 0) >= 3)
    assert worker.thumbnail_version == 1
    desktop.show(12, "TSLA 251.00 - Feed", chart(rising=False))
    wait_until(lambda: worker.thumbnail_version == 2)
    assert worker.last_result.price_value == 251.0


def test_starting_a_running_window_again_keeps_one_loop(manager, desktop) -> None:
    desktop.show(13, "MSFT 400 - App", chart(rising=True))
    manager.start(13, interval=0.5)
    first = manager.worker(13)
    manager.start(13, interval=1.0)
    assert manager.worker(13) is first and first.config.interval == 1.0
    assert len(manager.workers()) == 1
    names = [t.name for t in threading.enumerate() if t.name == "capture-0xd"]
    assert names == ["capture-0xd"]


def test_stop_is_prompt_even_with_a_long_interval(manager, desktop) -> None:
    desktop.show(14, "AMD 100 - App", chart(rising=True))
    manager.start(14, interval=60)
    wait_until(lambda: desktop.captures.get(14, 0) >= 1)
    started = time.monotonic()
    status = manager.stop(14).model_dump()
    # A behaviour bound, not a speed measure: the loop ends well before the 60 s wait
    # it was in would have (a loaded machine may still be reading the first frame).
    wait_until(lambda: "capture-0xe" not in {t.name for t in threading.enumerate()}, 30)
    assert time.monotonic() - started < 30
    assert status["is_running"] is False
    with pytest.raises(UnknownWorker):
        manager.stop(14)


def test_a_vanished_window_marks_its_worker_and_spares_the_others(manager, desktop) -> None:
    desktop.show(15, "AAPL 1 - A", chart(rising=True))
    desktop.show(16, "NVDA 2 - B", chart(rising=False))
    manager.start(15, interval=0.5)
    manager.start(16, interval=0.5)
    desktop.close(15)
    wait_until(lambda: manager.worker(15).state == "window_gone")
    before = desktop.captures[16]
    wait_until(lambda: desktop.captures[16] > before + 1)
    assert manager.worker(16).state == "running"
    assert manager.worker(15).status().failed_captures >= 1


def test_an_unknown_window_is_refused(manager) -> None:
    with pytest.raises(InvalidWindow, match="not a visible, titled window"):
        manager.start(99, interval=1)


def test_only_the_newest_screenshots_are_kept(manager, desktop) -> None:
    desktop.show(17, "AAPL 1 - A", chart(rising=True))
    manager.start(17, interval=0.5, keep_last_n=2)
    worker = manager.worker(17)
    for shift in range(1, 5):
        desktop.show(17, f"AAPL {shift + 1} - A", chart(rising=True, shift=shift))
        wait_until(lambda s=shift: worker.thumbnail_version >= s + 1)
    folder = Path(worker.status().output_folder)
    assert len(list(folder.glob("*.jpg"))) == 2


def test_a_crop_saved_for_a_stopped_window_applies_when_it_starts(manager, desktop, ledger) -> None:
    desktop.show(18, "AAPL 1 - A", chart(rising=True))
    assert manager.set_worker_crop(18, Crop(left=0.1, right=0.2, top=0.05, bottom=0.0)) is False
    status = manager.start(18, interval=0.5).model_dump()
    assert status["crop"] == {"left": 0.1, "right": 0.2, "top": 0.05, "bottom": 0.0}
    wait_until(lambda: manager.worker(18).last_result is not None)
    # Trading on the window's signals rewrote its bot row but kept the saved crop.
    assert ledger.bot_settings(manager.bot_for(18)).crop.left == 0.1


def test_global_crop_reaches_running_workers_without_their_own(manager, desktop) -> None:
    desktop.show(19, "AAPL 1 - A", chart(rising=True))
    desktop.show(20, "TSLA 1 - A", chart(rising=True))
    manager.set_worker_crop(20, Crop(right=0.3))
    manager.start(19, interval=0.5)
    manager.start(20, interval=0.5)
    manager.set_global_crop(Crop.uniform(0.05))
    assert manager.worker(19).status().crop.left == 0.05
    assert manager.worker(20).status().crop.right == 0.3


def test_saved_analysis_settings_reach_the_worker(manager, desktop, ledger) -> None:
    ledger.save_bot_settings("21", 21, BotSettings(ocr=True, title_pattern=r"(?P<ticker>[A-Z]+):"))
    desktop.show(21, "XYZ: chart", chart(rising=True))
    manager.start(21, interval=0.5)
    analysis = manager.worker(21).config.analysis
    assert analysis.ocr is True and analysis.title_pattern == r"(?P<ticker>[A-Z]+):"
    wait_until(lambda: manager.worker(21).last_result is not None)
    assert manager.worker(21).last_result.ticker == "XYZ"


def test_a_title_pattern_saved_while_capturing_applies_at_once(manager, desktop, ledger) -> None:
    desktop.show(22, "price feed: xyz at 12.50", chart(rising=True))
    manager.start(22, interval=0.5)
    worker = manager.worker(22)
    wait_until(lambda: worker.last_result is not None)
    assert worker.last_result.ticker == ""
    ledger.save_bot_settings(
        manager.bot_for(22), 22, BotSettings(title_pattern=r"feed: (?P<ticker>[a-z]+) at")
    )
    assert manager.reload_bot_settings(22) is True
    wait_until(lambda: worker.last_result.ticker.upper() == "XYZ")
    assert manager.reload_bot_settings(99) is False


def test_stop_all_tells_live_clients_each_worker_stopped(manager, desktop, events) -> None:
    for hwnd in (21, 22):
        desktop.show(hwnd, f"T{hwnd} $1.00 - Robinhood", chart(rising=True))
        manager.start(hwnd, interval=0.5)
    assert sorted(manager.stop_all()) == [21, 22]
    stopped = {data["hwnd"] for kind, data in events if kind == "worker" and data.get("stopped")}
    assert stopped == {21, 22}


@pytest.fixture
def impatient_database(database_url: str) -> Iterator[Database]:
    """The service's way to the ledger, giving up on a held lock after a fifth of a second."""
    upgrade(database_url)
    database = Database(database_url, DatabaseTimeouts(lock=0.2, statement=5))
    yield database
    database.dispose()


def test_a_changed_frame_whose_store_failed_is_traded_once_the_database_is_back(
    impatient_database: Database, desktop: ScriptedDesktop, tmp_path: Path, database_url: str
) -> None:
    ledger = Ledger(impatient_database)
    writer = LedgerWriter(ledger, FileStore(tmp_path / "uploads"))
    writer.start()
    trades: list[str] = []
    manager = CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(writer, on_trade=lambda trade_id, trade: trades.append(trade.side.value)),
        source_factory=desktop.source,
    )
    try:
        desktop.show(30, "AAPL 100.00 - Feed", chart(rising=True))
        manager.start(30, interval=0.5)
        worker = manager.worker(30)
        wait_until(lambda: trades == ["buy"])
        with database_held(database_url):
            # The frame that turns the trend arrives while nothing can be stored...
            desktop.show(30, "AAPL 103.00 - Feed", chart(rising=False))
            wait_until(lambda: worker.thumbnail_version == 2)
            seen = desktop.captures[30]
            wait_until(lambda: desktop.captures[30] >= seen + 2)  # still, and still failing
            assert trades == ["buy"]
        # ...and the chart then stays still: the pending reading is stored and sells.
        wait_until(lambda: trades == ["buy", "sell"])
        seen = desktop.captures[30]
        wait_until(lambda: desktop.captures[30] >= seen + 3)
        assert trades == ["buy", "sell"]
    finally:
        manager.stop_all()
        writer.close()
    with impatient_database.reading() as session:
        sides = list(session.scalars(select(models.Trade.side).order_by(models.Trade.id)))
        profits = list(
            session.scalars(select(models.Trade.profit).where(models.Trade.side == "sell"))
        )
    assert sides == ["buy", "sell"] and profits == [3]


def test_screenshots_beyond_keep_last_n_go_across_restarts(manager, desktop) -> None:
    folder = None
    for run in range(3):
        desktop.show(31, f"AAPL {run}0 - A", chart(rising=True, shift=run))
        manager.start(31, interval=0.5, keep_last_n=2)
        worker = manager.worker(31)
        for change in range(1, 3):
            desktop.show(31, f"AAPL {run}{change} - A", chart(rising=True, shift=run + change))
            wait_until(lambda c=change, w=worker: w.thumbnail_version >= c + 1)
        folder = Path(worker.status().output_folder)
        manager.stop(31)
        # Each run saw three changed frames; only the newest two of all runs are kept.
        assert len(list(folder.glob("*.jpg"))) == 2
    assert folder is not None
    assert sorted(folder.glob("*.jpg"))[-1].name.startswith(str(utcnow().year))


def test_the_last_changed_frame_is_re_read_on_request_in_frame_pixels(manager, desktop) -> None:
    with pytest.raises(UnknownWorker, match="12"):
        manager.reading(12)
    pixels = chart(rising=True, width=400, height=240)
    desktop.show(12, "AAPL $175.23 - Robinhood", pixels)
    manager.set_worker_crop(12, Crop(left=0.1, right=0.1, top=0.1, bottom=0.0))
    manager.start(12, interval=0.5)
    worker = manager.worker(12)
    wait_until(lambda: worker.last_result is not None)
    assert worker.last_result.kind == "line" and worker.last_result.reason
    reading = manager.reading(12)
    assert (reading["hwnd"], reading["kind"], reading["trend"]) == (12, "line", "up")
    assert (reading["width"], reading["height"]) == (400, 240)
    assert reading["crop"] == {"left": 0.1, "right": 0.1, "top": 0.1, "bottom": 0.0}
    points = np.array(reading["points"])
    # Whole-frame coordinates: inside the cropped region, on the line's own pixels.
    assert points[:, 0].min() >= 40 and points[:, 0].max() <= 360 and points[:, 1].min() >= 24
    ink = (pixels.min(axis=2) < 200).astype(np.uint8)
    near = cv2.dilate(ink, np.ones((5, 5), np.uint8))
    assert near[points[:, 1].astype(int), points[:, 0].astype(int)].mean() > 0.95
    png = cv2.imdecode(np.frombuffer(manager.frame_png(12), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(png, pixels)


def test_a_worker_without_a_frame_yet_says_so(manager, desktop) -> None:
    from trade_analysis.capture.errors import NoFrameYet

    desktop.show(13, "AAPL $175.23 - Robinhood", chart(rising=True))
    manager.start(13, interval=0.5)
    manager.worker(13).stop()
    manager.worker(13).last_frame = None
    with pytest.raises(NoFrameYet, match="13"):
        manager.frame_png(13)


def test_each_changed_frame_appends_one_row_to_results_csv(manager, desktop) -> None:
    desktop.show(31, "AAPL $175.23 - Robinhood", chart(rising=True))
    manager.start(31, interval=0.5)
    worker = manager.worker(31)
    results = worker.config.output_folder / "results.csv"
    wait_until(lambda: results.exists() and len(results.read_text().splitlines()) == 2)
    captures = desktop.captures[31]
    wait_until(lambda: desktop.captures[31] >= captures + 2)  # unchanged frames: no rows
    assert len(results.read_text().splitlines()) == 2

    desktop.show(31, "AAPL $176.00 - Robinhood", chart(rising=False))
    wait_until(lambda: len(results.read_text().splitlines()) == 3)
    header, first, second = (line.split(",") for line in results.read_text().splitlines())
    assert header == ["timestamp", "image_path", "name", "ticker", "price", "trend"]
    assert first[3:] == ["AAPL", "$175.23", "up"] and second[3:] == ["AAPL", "$176.00", "down"]
    assert first[0].endswith("Z") and Path(first[1]).parent == worker.config.output_folder


class FocusTrackingSource(ScriptedSource):
    """Records focus changes, as a window manager would apply them."""

    def __init__(self, desktop: ScriptedDesktop, focus: list[int]) -> None:
        super().__init__(desktop)
        self.focus = focus

    def bring_to_front(self, hwnd: int) -> int | None:
        previous = self.focus[-1]
        self.focus.append(hwnd)
        return previous

    def capture(self, hwnd: int) -> Frame:
        assert self.focus[-1] == hwnd, "grabbed before the window was brought forward"
        return super().capture(hwnd)

    def give_focus_back(self, hwnd: int) -> None:
        self.focus.append(hwnd)


def test_bringing_a_window_forward_gives_the_focus_back_after_the_grab(
    ledger: Ledger, desktop: ScriptedDesktop, tmp_path: Path
) -> None:
    focus = [99]  # the trader's own window has the focus
    capture = CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(ledger),
        source_factory=lambda: FocusTrackingSource(desktop, focus),
    )
    desktop.show(41, "AAPL $175.23 - Robinhood", chart(rising=True))
    desktop.show(99, "Notes", chart(rising=False))
    try:
        capture.start(41, interval=0.5, bring_to_foreground=True)
        wait_until(lambda: capture.worker(41).successful_captures >= 2)
    finally:
        capture.stop_all()
    assert focus[:5] == [99, 41, 99, 41, 99] and focus[-1] == 99


@pytest.mark.parametrize("width", [200, 640])
def test_a_thumbnail_of_a_bgr_view_of_bgrx_memory_shows_the_frame(width: int) -> None:
    bgrx = np.zeros((100, width, 4), np.uint8)
    bgrx[:, :, :3] = chart(True, width=width, height=100)
    bgrx[:, :, 3] = 255  # the padding byte must not reach the picture
    view = Crop(right=0.25).apply(bgrx[:, :, :3])

    thumbnail = cv2.imdecode(np.frombuffer(encode_thumbnail(view), np.uint8), cv2.IMREAD_COLOR)
    expected = cv2.imdecode(
        np.frombuffer(encode_thumbnail(np.ascontiguousarray(view)), np.uint8), cv2.IMREAD_COLOR
    )

    assert (
        thumbnail.shape
        == expected.shape
        == (
            max(1, round(100 * min(1, THUMBNAIL_WIDTH / view.shape[1]))),
            min(view.shape[1], THUMBNAIL_WIDTH),
            3,
        )
    )
    assert np.array_equal(thumbnail, expected)


def test_a_captured_trade_keeps_the_frames_around_it(
    ledger: Ledger, desktop: ScriptedDesktop, tmp_path: Path
) -> None:
    """The window's frames (its JPEG thumbnails) enter its bot's ring; the buy keeps the ring
    and the next changed frames."""
    frames = TradeFrames(tmp_path / "trade_screenshots", around=3)
    traded: list[int] = []
    capture = CaptureManager(
        ledger,
        tmp_path / "screenshots",
        ReadingSink(ledger, on_trade=lambda trade_id, _trade: traded.append(trade_id)),
        source_factory=desktop.source,
        trade_frames=frames,
    )
    try:
        desktop.show(31, "AAPL $175.23 - Robinhood", chart(rising=True))
        capture.start(31, interval=0.5)
        wait_until(lambda: bool(traded))
        worker = capture.worker(31)
        for shift in range(1, 5):  # four more changed frames, no trade
            desktop.show(31, f"AAPL $175.{23 + shift} - Robinhood", chart(True, shift=shift))
            seen = worker.successful_captures
            wait_until(lambda seen=seen: worker.successful_captures > seen + 1)
        kept = frames.frames(traded)
    finally:
        capture.stop_all()
    assert [frame.when for frame in kept] == ["before", "after", "after", "after"]
    assert all(frame.side == "buy" for frame in kept)
    first = (frames.root / kept[0].path).read_bytes()
    assert first.startswith(b"\xff\xd8")  # the worker's own JPEG, not re-encoded
