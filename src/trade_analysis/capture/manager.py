"""The capture manager: starts and stops the workers of this process, and what they report to.

It owns the registry of workers (registry.py: one per window, never two), global
capture settings, and the path from a worker's reading to its sink (the ledger
and the live stream). It knows nothing of HTTP: routes call it, and it raises
precise errors they map.

Each worker reads for a bot (trading/binding.py says which): starting a window
binds it. A bot whose window is gone, or that was capturing when the service
stopped, waits in the resume waiting room (resumer.py, owned here):
`look_for_windows` (run every few seconds, and once at start by `resume_saved`)
lists the windows once and restarts each waiting bot on the first free window
with its identity, at its saved interval, with its saved crop.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy.exc import OperationalError

from trade_analysis.analysis import AnalysisSettings, Crop, CropSettings, read_trace
from trade_analysis.capture.errors import (
    BotNotFound,
    CaptureError,
    InvalidWindow,
    NoFrameYet,
    UnknownWorker,
    WindowTaken,
)
from trade_analysis.capture.frame import Frame, WindowInfo
from trade_analysis.capture.registry import WorkerRegistry
from trade_analysis.capture.resumer import WindowResumer, matches
from trade_analysis.capture.schemas import BotCaptureState
from trade_analysis.capture.sink import CaptureSink
from trade_analysis.capture.sources import open_source
from trade_analysis.capture.sources.base import WindowSource
from trade_analysis.capture.worker import (
    CaptureProbe,
    CaptureWorker,
    Reading,
    WorkerConfig,
    encode_thumbnail,
)
from trade_analysis.domain import to_wire
from trade_analysis.trade_frames import SeenFrame, TradeFrames
from trade_analysis.trading.binding import WindowIdentity
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.ledger import (
    CaptureWish,
    Ledger,
    ObservationInput,
    UnknownBot,
)
from trade_analysis.wire import (
    FrameData,
    ObservationData,
    WorkerPresent,
    WorkerState,
    WorkerStatus,
    WorkerStopped,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureSettings:
    """Defaults for workers: the global crop, line detection, bringing windows forward."""

    crop: Crop = field(default_factory=Crop)
    line_detect: bool = True
    bring_to_foreground: bool = False


def bot_key(hwnd: int) -> str:
    """The key of a bot made for a window no bot could be bound to (not on this desktop)."""
    return str(hwnd)


# Window picker previews: enough to recognise a chart, small enough to list many.
PREVIEW_WIDTH = 160


class CaptureManager:
    def __init__(
        self,
        ledger: Ledger,
        screenshots_dir: Path,
        sink: CaptureSink,
        source_factory: Callable[[], WindowSource] = open_source,
        probe: CaptureProbe | None = None,
        trade_frames: TradeFrames | None = None,
    ) -> None:
        """`ledger`: the bots (binding, settings, capture state); `sink`: where readings,
        events and trades go (the service's group-commit writer and live feed);
        `trade_frames`: where the frames around each trade are kept (none: not kept)."""
        self._ledger = ledger
        self._trade_frames = trade_frames
        self._probe = probe
        self._sink = sink
        self._screenshots_dir = screenshots_dir
        self._source_factory = source_factory
        self._registry = WorkerRegistry()
        self._resumer = WindowResumer(source_factory)
        # Bindings made while the database could not be written, by bot: the look writes them.
        self._pending_binds: dict[str, tuple[WindowInfo, CaptureWish]] = {}
        # The registry and the waiting room change together under this lock.
        self._lock = threading.Lock()
        # Crop edits read, merge and write the settings: one at a time.
        self._settings_lock = threading.Lock()
        self.settings = CaptureSettings()

    # -- windows ---------------------------------------------------------------

    def list_windows(self) -> list[WindowInfo]:
        """Windows on this desktop; CaptureUnavailable says what is missing when there is none."""
        source = self._source_factory()
        try:
            return source.list_windows()
        finally:
            source.close()

    def preview(self, hwnd: int, width: int = PREVIEW_WIDTH) -> bytes:
        """One small JPEG of a window, for choosing it (WindowGone when it is not there)."""
        source = self._source_factory()
        try:
            return encode_thumbnail(source.capture(hwnd).pixels, width)
        finally:
            source.close()

    # -- workers ---------------------------------------------------------------

    def set_interval(self, hwnd: int, interval: float) -> WorkerStatus:
        """A running window's seconds between captures, from its next wait on; UnknownWorker
        when it is not being captured."""
        with self._lock:
            running = self._registry.running(hwnd)
            if running is None:
                raise UnknownWorker(hwnd)
            running.reconfigure(interval=interval)
            status = running.status()
        if status.bot is not None:  # resumed at this interval next time
            self._ledger.set_capture_state(status.bot, interval=interval)
        return status

    def start(
        self,
        hwnd: int,
        *,
        interval: float = 1.0,
        keep_last_n: int = 5,
        bring_to_foreground: bool | None = None,
        legacy: bool = False,
        bot: str | None = None,
        window: WindowInfo | None = None,
    ) -> WorkerStatus:
        """Start capturing a window for its bot (`bot`, else the one binding chooses);
        starting a running window changes only its interval. `window`: the window as
        just listed, when the caller has it."""
        status = None
        with self._lock:
            running = self._registry.running(hwnd)
            if running is not None:
                running.reconfigure(interval=interval, keep_last_n=keep_last_n)
                if legacy:
                    self._registry.mark_legacy(hwnd)
                status = running.status()
        if status is not None:
            if status.bot is not None:  # resumed at this interval next time
                self._ledger.set_capture_state(status.bot, interval=interval)
            return status
        window = window if window is not None and window.hwnd == hwnd else self._window(hwnd)
        binding = self._bind(window, bot, CaptureWish(interval))
        config = self._config_for(hwnd, binding, interval, keep_last_n, bring_to_foreground)
        worker = CaptureWorker(
            config, self._source_factory, self._store, self._status_changed, self._probe
        )
        with self._lock:
            existing = self._registry.add(worker)
            if existing is not None:
                return existing.status()  # another request won the race
            parked = self._resumer.leave(binding)
            if parked is not None and parked != hwnd:
                self._registry.remove(parked)
            if legacy:
                self._registry.mark_legacy(hwnd)
            worker.start()
        logger.info(
            "capture started hwnd=%#x bot=%s interval=%.2fs",
            hwnd,
            binding,
            interval,
            extra={"window": hwnd, "bot": binding},
        )
        return worker.status()

    def stop(self, hwnd: int) -> WorkerStatus:
        """Stop capturing a window; its bot no longer wants capture (nor resumes)."""
        with self._lock:
            worker = self._registry.remove(hwnd, unmark_legacy=True)
            if worker is not None and worker.config.bot is not None:
                self._resumer.leave(worker.config.bot)
        if worker is None:
            raise UnknownWorker(hwnd)
        worker.stop()
        if worker.config.bot is not None:
            self._ledger.set_capture_state(worker.config.bot, capturing=False)
        logger.info("capture stopped hwnd=%#x", hwnd, extra={"window": hwnd})
        self._sink.notify(WorkerStopped(hwnd=hwnd))
        return worker.status()

    def stop_legacy(self) -> WorkerStatus | None:
        hwnd = self._registry.legacy_hwnd
        return self.stop(hwnd) if hwnd is not None else None

    def stop_all(self) -> list[int]:
        """Stop every worker, and no bot resumes; returns the windows that were captured."""
        with self._lock:
            bots = {w.config.bot for w in self._registry.all()} | self._resumer.clear()
        stopped = self.shutdown()
        for bot in sorted(bot for bot in bots if bot is not None):
            self._ledger.set_capture_state(bot, capturing=False)
        return stopped

    def shutdown(self) -> list[int]:
        """Stop every worker as the service stops: bots that were capturing resume at the
        next start. Returns the windows that were being captured."""
        self._resumer.close()
        with self._lock:
            workers = self._registry.clear()
        # All at once, then wait: stopping takes one worker's time, not the sum of all.
        for worker in workers:
            worker.request_stop()
        for worker in workers:
            worker.stop()
            self._sink.notify(WorkerStopped(hwnd=worker.hwnd))
        return [worker.hwnd for worker in workers]

    def legacy_status(self) -> WorkerStatus | None:
        worker = self._registry.legacy()
        return worker.status() if worker else None

    def workers(self) -> list[CaptureWorker]:
        return self._registry.all()

    def worker(self, hwnd: int) -> CaptureWorker:
        worker = self._registry.get(hwnd)
        if worker is None:
            raise UnknownWorker(hwnd)
        return worker

    def last_frame(self, hwnd: int) -> tuple[Frame, Crop]:
        """The window's last changed frame and the crop it was read with."""
        kept = self.worker(hwnd).last_frame
        if kept is None:
            raise NoFrameYet(hwnd)
        return kept

    def reading(self, hwnd: int) -> dict[str, Any]:
        """Re-read the last changed frame on request (never on the capture path)."""
        frame, crop = self.last_frame(hwnd)
        return {
            "hwnd": hwnd,
            "timestamp": to_wire(frame.captured_at),
            **read_trace(frame.pixels, crop),
        }

    def frame_png(self, hwnd: int) -> bytes:
        frame, _ = self.last_frame(hwnd)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(frame.pixels))
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
            raise RuntimeError("PNG encoding failed")
        return png.tobytes()

    # -- bots ------------------------------------------------------------------

    def bot_for(self, hwnd: int) -> str:
        """The bot a window's settings belong to: the one reading it or bound to it, else
        the one binding chooses for it (a window not on this desktop keeps its id as key)."""
        worker = self._registry.get(hwnd)
        if worker is not None and worker.config.bot is not None:
            return worker.config.bot
        bound = self._ledger.bot_for_window(hwnd)
        if bound is not None:
            return bound
        try:
            return self._bind(self._window(hwnd), None, None)
        except CaptureError:
            return bot_key(hwnd)

    def pause(self, bot: str) -> BotCaptureState:
        """Stop the bot's capture; it does not resume until `resume`."""
        if not self._ledger.set_capture_state(bot, paused=True):
            raise BotNotFound(bot)
        self._forget(bot)
        with self._lock:
            running = self._registry.remove_bot(bot)
        for worker in running:
            worker.stop()
            self._sink.notify(WorkerStopped(hwnd=worker.hwnd))
        return self.bot_state(bot)

    def resume(self, bot: str) -> BotCaptureState:
        """The bot captures again: at once if its window (or a matching one) is open, else
        when one appears. A bot that never read from a window (an upload's) is only
        unpaused: there is no window to wait for."""
        known = self._ledger.bot_capture(bot)
        if known is None:
            raise BotNotFound(bot)
        capturing = True if known.identity is not None else None
        self._ledger.set_capture_state(bot, paused=False, capturing=capturing)
        wanted = self._ledger.bot_capture(bot)
        if wanted is not None and wanted.identity is not None and not self._registry.runs(bot):
            self._resumer.wait(wanted)
            try:
                self.look_for_windows()
            except CaptureError as exc:  # no windows to look at now: the periodic look will
                logger.info("bot=%s waits: %s", bot, exc)
        return self.bot_state(bot)

    def move(self, bot: str, hwnd: int) -> BotCaptureState:
        """Bind the bot to another window (it now recognises that one); a bot that was
        capturing or waiting captures there at once."""
        wanted = self._ledger.bot_capture(bot)
        if wanted is None:
            raise BotNotFound(bot)
        holder = self._registry.running(hwnd)
        if holder is not None and holder.config.bot != bot:
            raise WindowTaken(hwnd, holder.config.bot or str(hwnd))
        window = self._window(hwnd)
        elsewhere = [
            w for w in self.workers() if w.config.bot == bot and w.hwnd != hwnd and w.is_running
        ]
        for worker in elsewhere:
            with self._lock:
                self._registry.remove(worker.hwnd)
            worker.stop()
        capture = (wanted.capturing or bool(elsewhere)) and not wanted.paused
        if capture:
            self.start(hwnd, interval=wanted.interval, bot=bot)
        else:
            self._bind(window, bot, None)
        return self.bot_state(bot)

    def bot_state(self, bot: str) -> BotCaptureState:
        wanted = self._ledger.bot_capture(bot)
        if wanted is None:
            raise BotNotFound(bot)
        return BotCaptureState(bot=bot, hwnd=wanted.hwnd, state=wanted.state)

    def resume_saved(self) -> list[str]:
        """At start: the bots that were capturing wait for their windows, and those open
        now resume. Returns the bots resumed."""
        wanted = self._ledger.bots_to_resume()
        with self._lock:
            self._resumer.wait_all(bot for bot in wanted if not self._registry.runs(bot.bot))
        if wanted:
            logger.info("%d bot(s) to resume when their windows appear", len(wanted))
        return self.look_for_windows(release_missing=True)

    def look_for_windows(self, *, release_missing: bool = False) -> list[str]:
        """Park workers whose window is gone; restart waiting bots on matching windows.

        One window listing when some bot waits, none otherwise. With `release_missing`,
        a waiting bot's binding to a window that is not listed is let go.
        """
        self._write_pending_binds()
        self._park_vanished()
        with self._lock:
            waiting = self._resumer.waiting()
            busy = self._registry.busy_windows()
        if not waiting:
            return []
        windows = self._resumer.list_windows()
        if release_missing:
            listed = {window.hwnd for window in windows}
            for stale in waiting:
                if stale.hwnd is not None and stale.hwnd not in listed:
                    self._ledger.set_capture_state(stale.bot, unbind=True)
        resumed = []
        for window, bot in matches(waiting, windows, busy):
            try:
                self.start(window.hwnd, interval=bot.interval, bot=bot.bot, window=window)
            except BotNotFound:  # deleted while it waited
                self._forget(bot.bot)
                continue
            except CaptureError as exc:
                logger.warning("bot=%s could not resume on %#x: %s", bot.bot, window.hwnd, exc)
                continue
            resumed.append(bot.bot)
            logger.info("bot=%s resumed on window %#x", bot.bot, window.hwnd)
        return resumed

    def _park_vanished(self) -> None:
        """Workers whose window is gone stop; their bots wait for a matching window."""
        gone = [w for w in self.workers() if w.state == WorkerState.WINDOW_GONE and w.config.bot]
        for worker in gone:
            bot = worker.config.bot
            assert bot is not None
            worker.stop()
            self._ledger.set_capture_state(bot, unbind=True)
            wanted = self._ledger.bot_capture(bot)
            worker.mark_waiting()
            if wanted is not None and wanted.identity is not None:
                self._resumer.wait(wanted, parked=worker.hwnd)
            logger.info(
                "window %#x is gone; bot=%s waits for its window",
                worker.hwnd,
                bot,
                extra={"bot": bot},
            )

    def _forget(self, bot: str) -> None:
        with self._lock:
            parked = self._resumer.leave(bot)
            if parked is not None:
                self._registry.remove(parked)

    def _window(self, hwnd: int) -> WindowInfo:
        for window in self.list_windows():
            if window.hwnd == hwnd:
                return window
        raise InvalidWindow(hwnd)

    def _bind(self, window: WindowInfo, bot: str | None, capture: CaptureWish | None) -> str:
        with self._lock:
            busy = self._registry.busy_bots(besides=window.hwnd)
        identity = WindowIdentity.of(window.process, window.title)
        try:
            bound = self._ledger.bind_window(
                window.hwnd, identity, busy=busy, bot=bot, capture=capture
            )
        except UnknownBot as exc:
            raise BotNotFound(exc.bot) from None
        except OperationalError as exc:
            if capture is None:
                raise
            # The database is held: capture starts now for the bot binding would choose
            # (read, not written); its readings wait in the writer, and the next look
            # writes the binding once the database is back.
            planned = self._ledger.plan_binding(window.hwnd, identity, busy=busy, bot=bot)
            with self._lock:
                self._pending_binds[planned] = (window, capture)
            logger.warning(
                "bot=%s bound to %#x once the database is back: %s",
                planned,
                window.hwnd,
                exc,
                extra={"bot": planned},
            )
            return planned
        return bound.bot

    def _write_pending_binds(self) -> None:
        with self._lock:
            pending = list(self._pending_binds.items())
        for bot, (window, capture) in pending:
            identity = WindowIdentity.of(window.process, window.title)
            try:
                self._ledger.bind_window(
                    window.hwnd, identity, bot=bot, capture=capture, create=True
                )
            except OperationalError:
                return  # still held: the next look tries again
            with self._lock:
                self._pending_binds.pop(bot, None)

    # -- settings --------------------------------------------------------------

    def set_line_detect(self, enabled: bool) -> None:
        self.settings = replace(self.settings, line_detect=enabled)
        for worker in self.workers():
            analysis = replace(worker.config.analysis, line_detect=enabled)
            worker.reconfigure(analysis=analysis)

    def set_bring_to_foreground(self, enabled: bool) -> None:
        self.settings = replace(self.settings, bring_to_foreground=enabled)
        for worker in self.workers():
            worker.reconfigure(bring_to_foreground=enabled)

    def set_global_crop(self, crop: Crop) -> None:
        """The default crop; running workers without a crop of their own take it at once."""
        self.settings = replace(self.settings, crop=crop)
        for worker in self.workers():
            if not self._has_own_crop(worker):
                worker.reconfigure(analysis=replace(worker.config.analysis, crop=crop))

    def edit_global_crop(self, edges: Mapping[str, float]) -> Crop:
        """Change the edges given of the default crop (the others stay); returns the result."""
        with self._settings_lock:
            crop = self.settings.crop.with_edges(edges)
            self.set_global_crop(crop)
        return crop

    def edit_worker_crop(self, hwnd: int, edges: Mapping[str, float]) -> tuple[Crop, bool]:
        """Change the edges given of a window's crop (its own, else the default it used).

        Returns the whole crop and whether a running worker took it at once.
        """
        with self._settings_lock:
            saved = self._ledger.bot_settings(self.bot_for(hwnd)).crop
            crop = (saved.to_crop() if saved is not None else self.settings.crop).with_edges(edges)
            return crop, self.set_worker_crop(hwnd, crop)

    def set_worker_crop(self, hwnd: int, crop: Crop) -> bool:
        """Save a window's own crop in its bot row; apply it now if it is being captured."""
        own_crop = BotSettings(crop=CropSettings.from_crop(crop))
        bot = self.bot_for(hwnd)
        self._ledger.save_bot_settings(bot, hwnd if bot == bot_key(hwnd) else None, own_crop)
        worker = self._registry.get(hwnd)
        if worker is not None:
            worker.reconfigure(analysis=replace(worker.config.analysis, crop=crop))
        return worker is not None

    def reload_bot_settings(self, hwnd: int) -> bool:
        """Apply the bot's saved settings (crop, title pattern, OCR) to its running worker."""
        worker = self._registry.get(hwnd)
        if worker is None or worker.config.bot is None:
            return False
        worker.reconfigure(analysis=self._analysis_for(worker.config.bot))
        return True

    def _analysis_for(self, bot: str) -> AnalysisSettings:
        saved = self._ledger.bot_settings(bot)
        return AnalysisSettings(
            crop=saved.crop.to_crop() if saved.crop is not None else self.settings.crop,
            line_detect=self.settings.line_detect,
            title_pattern=saved.title_pattern,
            ocr=saved.ocr is True,
        )

    def _has_own_crop(self, worker: CaptureWorker) -> bool:
        bot = worker.config.bot
        return bot is not None and self._ledger.bot_settings(bot).crop is not None

    def _config_for(
        self,
        hwnd: int,
        bot: str,
        interval: float,
        keep_last_n: int,
        bring_to_foreground: bool | None,
    ) -> WorkerConfig:
        return WorkerConfig(
            hwnd=hwnd,
            bot=bot,
            interval=interval,
            keep_last_n=keep_last_n,
            bring_to_foreground=(
                self.settings.bring_to_foreground
                if bring_to_foreground is None
                else bring_to_foreground
            ),
            analysis=self._analysis_for(bot),
            output_folder=self._screenshots_dir / f"hwnd_{hwnd}",
        )

    # -- from a worker's thread ------------------------------------------------

    def _store(self, worker: CaptureWorker, reading: Reading) -> None:
        observation = reading.observation
        bot = worker.config.bot or bot_key(worker.hwnd)
        stored = self._sink.record_observation(
            ObservationInput(
                bot=bot,
                at=reading.captured_at,
                name=observation.name,
                ticker=observation.ticker,
                price=observation.price,
                trend=observation.trend,
                confidence=observation.confidence,
                meta={
                    "title": reading.title,
                    "reason": observation.reason,
                    "kind": observation.kind,
                },
            ),
            as_history=False,
        )
        self._sink.notify(ObservationData(hwnd=worker.hwnd, last_result=reading.last_result))
        self._sink.notify(
            FrameData(hwnd=worker.hwnd, jpeg_b64=base64.b64encode(reading.thumbnail_jpeg).decode())
        )
        if self._trade_frames is not None:
            self._trade_frames.seen(
                bot, SeenFrame(reading.captured_at, "jpg", reading.thumbnail_jpeg)
            )
        if stored.trade is not None and stored.trade_id is not None:
            if self._trade_frames is not None:
                self._trade_frames.traded(bot, stored.trade_id, stored.trade.side.value)
            self._sink.traded(stored.trade_id, stored.trade)

    def _status_changed(self, worker: CaptureWorker) -> None:
        self._sink.notify(WorkerPresent(hwnd=worker.hwnd, **dict(worker.status())))
