"""A capture worker: one thread, one window source, one window, about once a second.

Each tick grabs the window; a frame identical to the previous one (same pixels,
same title) costs only the grab and a sampled comparison. A changed frame is
read (analysis), shown (a small JPEG thumbnail, encoded once), kept (the newest
`keep_last_n` screenshots) and handed to `on_reading`, which stores and trades it.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from trade_analysis.analysis import (
    AnalysisSettings,
    Crop,
    CropSettings,
    Observation,
    analyze,
    opencv_view,
)
from trade_analysis.capture.frame import CaptureMethod, Frame
from trade_analysis.capture.sources.base import CaptureUnavailable, WindowGone, WindowSource
from trade_analysis.domain import format_price, to_wire
from trade_analysis.wire import ChartKind, LastResult, TargetWindow, WorkerState, WorkerStatus

logger = logging.getLogger(__name__)

MIN_INTERVAL = 0.5
THUMBNAIL_WIDTH = 320
# Sampling every 4th pixel of every 4th row finds any real chart change (lines are
# drawn across many columns) at a sixteenth of the cost of comparing everything.
_SAMPLE_STEP = 4
# Screenshot names are their capture time (UTC), so they sort oldest first.
SCREENSHOT_PATTERN = "[0-9]*T[0-9]*Z.jpg"


@dataclass(frozen=True)
class WorkerConfig:
    hwnd: int
    # The bot the window is bound to: its readings are stored and traded under it.
    bot: str | None = None
    interval: float = 1.0
    keep_last_n: int = 5
    bring_to_foreground: bool = False
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    output_folder: Path = Path("screenshots")


@dataclass(frozen=True)
class Reading:
    """What one changed frame produced; handed to the sink outside the worker's lock."""

    hwnd: int
    title: str
    observation: Observation
    captured_at: datetime
    image_path: str
    thumbnail_jpeg: bytes
    last_result: LastResult


class CaptureProbe:
    """What a worker reports for metrics; this base ignores it all (tests, the agent)."""

    def captured(self, source: str, *, changed: bool) -> None:
        """A grab that gave a frame, by capture method; `changed` when it differed."""

    def failed(self, source: str) -> None:
        """A grab that failed; `source` is the method that last worked, or `unknown`."""

    def read(self, seconds: float) -> None:
        """How long reading a changed frame took."""


OnReading = Callable[["CaptureWorker", Reading], None]
OnStatus = Callable[["CaptureWorker"], None]
SourceFactory = Callable[[], WindowSource]


def frame_signature(pixels: np.ndarray) -> bytes:
    # tobytes() already copies a strided view in C order; no second copy first.
    return pixels[::_SAMPLE_STEP, ::_SAMPLE_STEP].tobytes()


def encode_thumbnail(pixels: np.ndarray, width: int = THUMBNAIL_WIDTH) -> bytes:
    height, original_width = pixels.shape[:2]
    # The BGRX buffer behind a BGR view is read in place of copying the view first:
    # numpy copies a 3-of-4-bytes view ten times slower than OpenCV drops the 4th byte.
    pixels = opencv_view(pixels)
    if original_width > width:
        scaled_height = max(1, round(height * width / original_width))
        pixels = cv2.resize(pixels, (width, scaled_height), interpolation=cv2.INTER_AREA)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(pixels), [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def last_result(observation: Observation, captured_at: datetime, image_path: str) -> LastResult:
    """The seed's `last_result` keys, so clients of the original keep working."""
    price = observation.price
    return LastResult(
        timestamp=to_wire(captured_at),
        image_path=image_path,
        name=observation.name,
        ticker=observation.ticker or "",
        price=format_price(price) if price is not None else "",
        price_value=float(price) if price is not None else None,
        trend=observation.trend,
        confidence=observation.confidence,
        kind=ChartKind(observation.kind),
        reason=observation.reason,
    )


RESULTS_FILE = "results.csv"
RESULTS_COLUMNS = ("timestamp", "image_path", "name", "ticker", "price", "trend")


class ResultsLog:
    """`results.csv` in a worker's folder: one row per changed frame, as the original wrote.

    Opened once, appended to, and flushed after every row (line-buffered), so a
    spreadsheet or `trade-analysis replay` can read it while capture runs.
    """

    def __init__(self) -> None:
        self._stream: IO[str] | None = None
        self._writer: Any = None
        self._path: Path | None = None

    def append(self, folder: Path, result: LastResult) -> None:
        path = folder / RESULTS_FILE
        if self._path != path or not path.exists():  # first row, or the folder was removed
            self.close()
            self._stream = path.open("a", newline="", encoding="utf-8", buffering=1)
            self._writer = csv.writer(self._stream, lineterminator="\n")
            self._path = path
            if self._stream.tell() == 0:
                self._writer.writerow(RESULTS_COLUMNS)
        values = result.model_dump()
        # csv's writer hands each row to one write(): a reader never sees half a row.
        self._writer.writerow(["" if values[c] is None else values[c] for c in RESULTS_COLUMNS])

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream = self._writer = self._path = None


class CaptureWorker:
    """Captures one window on its own thread until stopped; never raises into the caller."""

    def __init__(
        self,
        config: WorkerConfig,
        open_source: SourceFactory,
        on_reading: OnReading,
        on_status: OnStatus | None = None,
        probe: CaptureProbe | None = None,
    ) -> None:
        if config.interval < MIN_INTERVAL:
            raise ValueError(f"interval must be at least {MIN_INTERVAL} s, not {config.interval}")
        self._config = config
        self._open_source = open_source
        self._on_reading = on_reading
        self._on_status = on_status or (lambda _worker: None)
        self._probe = probe or CaptureProbe()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._stopped_at: float | None = None
        self.title = ""
        self.state = WorkerState.IDLE
        self.method: CaptureMethod | None = None
        self.last_error: str | None = None
        self.total_captures = 0
        self.successful_captures = 0
        self.failed_captures = 0
        self.max_lag_seconds = 0.0
        self.last_result: LastResult | None = None
        self.thumbnail_jpeg: bytes | None = None
        self.thumbnail_version = 0
        self._signature: tuple[str, bytes] | None = None
        # A changed frame's reading that could not be stored yet (see `_deliver`).
        self._pending: Reading | None = None
        # The last changed frame (sources hand out a fresh buffer per capture, so
        # keeping it costs no copy) and the crop it was read with: re-read on request.
        self.last_frame: tuple[Frame, Crop] | None = None
        self._screenshots: list[Path] | None = None  # read from the folder on first use
        self._results = ResultsLog()

    # -- control (any thread) --------------------------------------------------

    @property
    def hwnd(self) -> int:
        return self._config.hwnd

    @property
    def config(self) -> WorkerConfig:
        return self._config

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._started_at = time.monotonic()
        self.state = WorkerState.STARTING
        self._thread = threading.Thread(
            target=self._run, name=f"capture-{self.hwnd:#x}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to end after its current tick, without waiting for it."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Prompt: the sleeping wait wakes at once; a grab in progress finishes first."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def mark_waiting(self) -> None:
        """Its window is gone and its bot waits for a matching one (the thread has ended)."""
        self._set_state(WorkerState.WAITING_FOR_WINDOW, self.last_error)

    def reconfigure(self, **changes: Any) -> None:
        """Change interval, crop or other settings; the next tick uses them."""
        with self._lock:
            self._config = replace(self._config, **changes)
            self._signature = None  # a new crop or reading must be read afresh

    def status(self) -> WorkerStatus:
        """The seed's status fields, and what this implementation adds."""
        config = self._config
        ends = self._stopped_at if self._stopped_at is not None else time.monotonic()
        runtime = ends - self._started_at if self._started_at is not None else 0.0
        return WorkerStatus(
            is_running=self.is_running,
            target_window=TargetWindow(hwnd=self.hwnd, title=self.title),
            interval=config.interval,
            total_captures=self.total_captures,
            successful_captures=self.successful_captures,
            failed_captures=self.failed_captures,
            runtime_seconds=round(runtime, 3),
            output_folder=str(config.output_folder),
            keep_last_n=config.keep_last_n,
            last_result=self.last_result,
            bring_to_foreground=config.bring_to_foreground,
            state=self.state,
            capture_method=self.method,
            last_error=self.last_error,
            max_lag_seconds=round(self.max_lag_seconds, 3),
            line_detect=config.analysis.line_detect,
            crop=CropSettings.from_crop(config.analysis.crop),
            bot=config.bot,
        )

    # -- the thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            source = self._open_source()
        except CaptureUnavailable as exc:
            self._set_state(WorkerState.UNAVAILABLE, str(exc))
            self._stopped_at = time.monotonic()
            return
        try:
            self._loop(source)
        finally:
            self._results.close()
            with contextlib.suppress(Exception):
                source.close()
            self._stopped_at = time.monotonic()
            self._set_state(WorkerState.STOPPED, self.last_error)

    def _loop(self, source: WindowSource) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            lag = time.monotonic() - due
            self.max_lag_seconds = max(self.max_lag_seconds, lag)
            self._tick(source)
            interval = self._config.interval
            due += interval
            now = time.monotonic()
            if now - due > interval:
                # Fell behind by more than a tick (a stalled X server, a slow disk):
                # skip the missed ticks rather than capturing in a burst to catch up.
                due = now
            self._stop.wait(max(0.0, due - now))

    def _tick(self, source: WindowSource) -> None:
        self.total_captures += 1
        config = self._config
        try:
            frame = self._grab(source, config)
        except WindowGone as exc:
            self.failed_captures += 1
            self._probe.failed(self.method or "unknown")
            self._set_state(WorkerState.WINDOW_GONE, str(exc))
            return
        except Exception as exc:  # one bad grab must not end the worker
            self.failed_captures += 1
            self._probe.failed(self.method or "unknown")
            logger.warning(
                "capture hwnd=%#x failed: %s", self.hwnd, exc, extra={"window": self.hwnd}
            )
            self._set_state(WorkerState.ERROR, f"{type(exc).__name__}: {exc}")
            return
        self.successful_captures += 1
        self.method = frame.method
        self.title = frame.title
        if self.state != WorkerState.RUNNING:
            self._set_state(WorkerState.RUNNING, None)
        signature = (frame.title, frame_signature(frame.pixels))
        changed = signature != self._signature
        self._probe.captured(frame.method, changed=changed)
        if not changed:
            if self._pending is not None:
                self._deliver(self._pending)
            return
        self._signature = signature
        try:
            started = time.perf_counter()
            reading = self._read(frame, config)
            self._probe.read(time.perf_counter() - started)
        except Exception as exc:
            logger.exception("reading hwnd=%#x failed", self.hwnd, extra={"window": self.hwnd})
            self._set_state(WorkerState.ERROR, f"{type(exc).__name__}: {exc}")
            return
        self.last_result = reading.last_result
        self.last_frame = (frame, config.analysis.crop)
        self.thumbnail_jpeg = reading.thumbnail_jpeg
        self.thumbnail_version += 1
        try:
            self._results.append(config.output_folder, reading.last_result)
        except OSError as exc:  # a full disk must not stop the ledger
            logger.warning("results.csv of hwnd=%#x not written: %s", self.hwnd, exc)
        self._deliver(reading)

    def _deliver(self, reading: Reading) -> None:
        """Hand a reading on; one that could not be stored stays pending until it is.

        The frame's signature is remembered either way (it need not be read
        again), so without this a change whose store failed (the database
        locked or down) would be lost for good once the chart stays still.
        A newer changed frame takes its place; the ledger's gate keeps a
        reading stored twice from trading twice.
        """
        try:
            self._on_reading(self, reading)
        except Exception as exc:
            if self._pending is not reading:
                logger.warning(
                    "storing the reading of hwnd=%#x failed; retrying each tick: %s",
                    self.hwnd,
                    exc,
                    extra={"window": self.hwnd},
                )
            self._pending = reading
        else:
            self._pending = None

    def _grab(self, source: WindowSource, config: WorkerConfig) -> Frame:
        """The window's frame; brought forward first if asked, and the focus given back after."""
        if not config.bring_to_foreground:
            return source.capture(self.hwnd)
        previous = source.bring_to_front(self.hwnd)
        try:
            return source.capture(self.hwnd)
        finally:
            if previous is not None:
                source.give_focus_back(previous)

    def _read(self, frame: Frame, config: WorkerConfig) -> Reading:
        observation = analyze(frame.pixels, frame.title, config.analysis)
        cropped = config.analysis.crop.apply(frame.pixels)
        thumbnail = encode_thumbnail(cropped)
        image_path = self._keep_screenshot(thumbnail, frame.captured_at, config)
        return Reading(
            hwnd=self.hwnd,
            title=frame.title,
            observation=observation,
            captured_at=frame.captured_at,
            image_path=image_path,
            thumbnail_jpeg=thumbnail,
            last_result=last_result(observation, frame.captured_at, image_path),
        )

    def _keep_screenshot(self, jpeg: bytes, captured_at: datetime, config: WorkerConfig) -> str:
        folder = config.output_folder
        if self._screenshots is None:
            # What earlier runs for this window kept counts against keep_last_n too.
            folder.mkdir(parents=True, exist_ok=True)
            self._screenshots = sorted(folder.glob(SCREENSHOT_PATTERN))
        path = folder / f"{captured_at.strftime('%Y%m%dT%H%M%S_%fZ')}.jpg"
        try:
            path.write_bytes(jpeg)
        except FileNotFoundError:  # the folder was removed while capturing
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpeg)
        self._screenshots.append(path)
        while len(self._screenshots) > max(1, config.keep_last_n):
            with contextlib.suppress(FileNotFoundError):
                self._screenshots.pop(0).unlink()
        return str(path)

    def _set_state(self, state: WorkerState, error: str | None) -> None:
        changed = state != self.state or error != self.last_error
        self.state, self.last_error = state, error
        if changed:
            try:
                self._on_status(self)
            except Exception:
                logger.exception("status callback for hwnd=%#x failed", self.hwnd)
