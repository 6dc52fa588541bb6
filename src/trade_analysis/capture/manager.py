"""The capture manager: the registry of workers in this process, and what they report to.

It owns workers (one per window, never two), global capture settings, and the
path from a worker's reading to the ledger and the live stream. It knows
nothing of HTTP: routes call it, and it raises precise errors they map.
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

from trade_analysis.analysis import AnalysisSettings, Crop, CropSettings, read_trace
from trade_analysis.capture.errors import InvalidWindow, NoFrameYet, UnknownWorker
from trade_analysis.capture.frame import Frame, WindowInfo
from trade_analysis.capture.schemas import WorkerStatus
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
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.ledger import Ledger, ObservationInput, ObservationSink
from trade_analysis.trading.simulator import TradeEvent

logger = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]
OnTrade = Callable[[int, TradeEvent], None]


@dataclass(frozen=True)
class CaptureSettings:
    """Defaults for workers: the global crop, line detection, bringing windows forward."""

    crop: Crop = field(default_factory=Crop)
    line_detect: bool = True
    bring_to_foreground: bool = False


def bot_key(hwnd: int) -> str:
    """A window's bot: the window itself."""
    return str(hwnd)


# Window picker previews: enough to recognise a chart, small enough to list many.
PREVIEW_WIDTH = 160


class CaptureManager:
    def __init__(
        self,
        ledger: Ledger,
        screenshots_dir: Path,
        notify: Notify,
        on_trade: OnTrade,
        source_factory: Callable[[], WindowSource] = open_source,
        observations: ObservationSink | None = None,
        probe: CaptureProbe | None = None,
    ) -> None:
        self._ledger = ledger
        self._probe = probe
        # Where readings are stored: the service passes its group-commit writer.
        self._observations = observations or ledger
        self._screenshots_dir = screenshots_dir
        self._notify = notify
        self._on_trade = on_trade
        self._source_factory = source_factory
        self._workers: dict[int, CaptureWorker] = {}
        self._legacy_hwnd: int | None = None
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

    def start(
        self,
        hwnd: int,
        *,
        interval: float = 1.0,
        keep_last_n: int = 5,
        bring_to_foreground: bool | None = None,
        legacy: bool = False,
    ) -> WorkerStatus:
        """Start capturing a window; starting a running window changes only its interval."""
        with self._lock:
            running = self._workers.get(hwnd)
            if running is not None and running.is_running:
                running.reconfigure(interval=interval, keep_last_n=keep_last_n)
                if legacy:
                    self._legacy_hwnd = hwnd
                return running.status()
        if hwnd not in {window.hwnd for window in self.list_windows()}:
            raise InvalidWindow(hwnd)
        config = self._config_for(hwnd, interval, keep_last_n, bring_to_foreground)
        worker = CaptureWorker(
            config, self._source_factory, self._store, self._status_changed, self._probe
        )
        with self._lock:
            existing = self._workers.get(hwnd)
            if existing is not None and existing.is_running:
                return existing.status()  # another request won the race
            self._workers[hwnd] = worker
            if legacy:
                self._legacy_hwnd = hwnd
            worker.start()
        logger.info(
            "capture started hwnd=%#x interval=%.2fs", hwnd, interval, extra={"window": hwnd}
        )
        return worker.status()

    def stop(self, hwnd: int) -> WorkerStatus:
        with self._lock:
            worker = self._workers.pop(hwnd, None)
            if self._legacy_hwnd == hwnd:
                self._legacy_hwnd = None
        if worker is None:
            raise UnknownWorker(hwnd)
        worker.stop()
        logger.info("capture stopped hwnd=%#x", hwnd, extra={"window": hwnd})
        self._notify("worker", {"hwnd": hwnd, "stopped": True})
        return worker.status()

    def stop_legacy(self) -> WorkerStatus | None:
        hwnd = self._legacy_hwnd
        return self.stop(hwnd) if hwnd is not None else None

    def stop_all(self) -> list[int]:
        """Stop every worker; returns the windows that were being captured."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
            self._legacy_hwnd = None
        # All at once, then wait: stopping takes one worker's time, not the sum of all.
        for worker in workers:
            worker.request_stop()
        for worker in workers:
            worker.stop()
            self._notify("worker", {"hwnd": worker.hwnd, "stopped": True})
        return [worker.hwnd for worker in workers]

    def legacy_status(self) -> WorkerStatus | None:
        worker = self._workers.get(self._legacy_hwnd) if self._legacy_hwnd is not None else None
        return worker.status() if worker else None

    def workers(self) -> list[CaptureWorker]:
        with self._lock:
            return list(self._workers.values())

    def worker(self, hwnd: int) -> CaptureWorker:
        worker = self._workers.get(hwnd)
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
            if not self._has_own_crop(worker.hwnd):
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
            saved = self._ledger.bot_settings(bot_key(hwnd)).crop
            crop = (saved.to_crop() if saved is not None else self.settings.crop).with_edges(edges)
            return crop, self.set_worker_crop(hwnd, crop)

    def set_worker_crop(self, hwnd: int, crop: Crop) -> bool:
        """Save a window's own crop in its bot row; apply it now if it is being captured."""
        own_crop = BotSettings(crop=CropSettings.from_crop(crop))
        self._ledger.save_bot_settings(bot_key(hwnd), hwnd, own_crop)
        worker = self._workers.get(hwnd)
        if worker is not None:
            worker.reconfigure(analysis=replace(worker.config.analysis, crop=crop))
        return worker is not None

    def reload_bot_settings(self, hwnd: int) -> bool:
        """Apply the bot's saved settings (crop, title pattern, OCR) to its running worker."""
        worker = self._workers.get(hwnd)
        if worker is None:
            return False
        worker.reconfigure(analysis=self._analysis_for(hwnd))
        return True

    def _analysis_for(self, hwnd: int) -> AnalysisSettings:
        saved = self._ledger.bot_settings(bot_key(hwnd))
        return AnalysisSettings(
            crop=saved.crop.to_crop() if saved.crop is not None else self.settings.crop,
            line_detect=self.settings.line_detect,
            title_pattern=saved.title_pattern,
            ocr=saved.ocr is True,
        )

    def _has_own_crop(self, hwnd: int) -> bool:
        return self._ledger.bot_settings(bot_key(hwnd)).crop is not None

    def _config_for(
        self, hwnd: int, interval: float, keep_last_n: int, bring_to_foreground: bool | None
    ) -> WorkerConfig:
        return WorkerConfig(
            hwnd=hwnd,
            interval=interval,
            keep_last_n=keep_last_n,
            bring_to_foreground=(
                self.settings.bring_to_foreground
                if bring_to_foreground is None
                else bring_to_foreground
            ),
            analysis=self._analysis_for(hwnd),
            output_folder=self._screenshots_dir / f"hwnd_{hwnd}",
        )

    # -- from a worker's thread ------------------------------------------------

    def _store(self, worker: CaptureWorker, reading: Reading) -> None:
        observation = reading.observation
        stored = self._observations.record_observation(
            ObservationInput(
                bot=bot_key(worker.hwnd),
                hwnd=worker.hwnd,
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
        self._notify(
            "observation",
            {"hwnd": worker.hwnd, "last_result": reading.last_result.model_dump(mode="json")},
        )
        self._notify(
            "frame",
            {"hwnd": worker.hwnd, "jpeg_b64": base64.b64encode(reading.thumbnail_jpeg).decode()},
        )
        if stored.trade is not None and stored.trade_id is not None:
            self._on_trade(stored.trade_id, stored.trade)

    def _status_changed(self, worker: CaptureWorker) -> None:
        self._notify("worker", {"hwnd": worker.hwnd, **worker.status().model_dump(mode="json")})
