"""The capture pipeline against its targets: per-window cost and fifty windows at 1 Hz.

Starts its own Xvfb (1280x800x24) and demo chart windows (``python -m
trade_analysis.demo.chart_window``) as subprocesses; everything is stopped at the end.
Run by hand (about two minutes):

    .venv/bin/python bench/bench_pipeline.py [--iterations 300] [--windows 50]

1. Per-window cost, one 640x400 window, this thread only (``time.process_time`` for CPU,
   ``time.perf_counter`` for wall time per call):

   * bare pipeline (the baseline): mss shared-memory grab of the window's screen region,
     crop (numpy view), change check (sampled bytes compare), ``read_trend`` on the
     cropped pixels, JPEG thumbnail (320 px wide);
   * the product's tick on a changed frame: ``CaptureWorker._tick`` with a real
     ``X11Source`` (capture, signature, analyze, crop, thumbnail, screenshot file), the
     change forced by clearing the worker's signature before each tick; again with the
     ledger write (``CaptureManager._store`` on a temporary SQLite) as a separate row;
   * the product's tick on an unchanged frame (signature equal).

   Targets (issue 3, "Speed"): changed tick <= 2x the bare pipeline; an unchanged tick
   costs little more than a grab plus a change check (taken here as <= 2x the bare grab
   plus change check).

2. Fifty windows at 1 Hz: a real server (``python -m trade_analysis serve``) on the
   virtual display, 50 chart windows of 320x200 (half animated, so their frames change
   every second), a worker on each through ``POST /start_multi``; after a settling time
   the server process's CPU (user + system) is measured over 30 s. Target: < 25% of one
   core. Also reports ``max_lag_seconds`` over the workers (target: <= one interval).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import mss
import numpy as np
import psutil
from _support import child_serving, free_port, percentile, server, verdict

from trade_analysis.analysis import AnalysisSettings, Crop, read_trend
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.capture.sources.x11 import X11Source
from trade_analysis.capture.worker import (
    CaptureProbe,
    CaptureWorker,
    Reading,
    WorkerConfig,
    frame_signature,
)
from trade_analysis.cli import serve_command
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.demo.desktop import VirtualDisplay, start_virtual_display
from trade_analysis.metrics import CaptureMetrics, Metrics
from trade_analysis.trading.ledger import Ledger

WIDTH, HEIGHT = 640, 400
ORIGIN = (10, 10)
TITLE = "BENCH 100.00 - Robinhood"
THUMB_WIDTH = 320
SAMPLE_STEP = 4
CHANGED_TARGET = 2.0
UNCHANGED_TARGET = 2.0
METRICS_TARGET = 1.05  # metrics cost under 5% of a tick's CPU
FLEET_CPU_TARGET = 25.0  # % of one core
API_KEY = "bench-pipeline-key-0123456789abcdef"


# -- processes -------------------------------------------------------------------------


@contextmanager
def virtual_display(width: int = 1280, height: int = 800) -> Iterator[VirtualDisplay]:
    """An Xvfb screen of this size (24 bits), stopped on exit."""
    display = start_virtual_display(width, height)
    try:
        yield display
    finally:
        display.stop()
        if display.process.stderr is not None:
            display.process.stderr.close()


class Windows:
    """Demo chart windows as subprocesses on one display; all killed on close()."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.processes: list[subprocess.Popen[bytes]] = []

    def open(
        self, title: str, x: int, y: int, width: int, height: int, *extra: str
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trade_analysis.demo.chart_window",
                f"--title={title}",
                f"--x={x}",
                f"--y={y}",
                f"--width={width}",
                f"--height={height}",
                *extra,
            ],
            env={**os.environ, "DISPLAY": self.display},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes.clear()


@contextmanager
def chart_windows(display: str) -> Iterator[Windows]:
    windows = Windows(display)
    try:
        yield windows
    finally:
        windows.close()


# -- part 1: one window, one thread ------------------------------------------------------


@dataclass
class Cost:
    name: str
    cpu_ms: float  # process CPU per call (median over rounds)
    wall_ms: float  # median wall time per call
    p95_ms: float


class Timer:
    """Runs cases in interleaved rounds so that drift hits every case alike."""

    def __init__(self, iterations: int, rounds: int = 5) -> None:
        self.per_round = max(1, iterations // rounds)
        self.rounds = rounds
        self.cases: list[tuple[str, Callable[[], object]]] = []

    def add(self, name: str, call: Callable[[], object]) -> None:
        self.cases.append((name, call))

    def run(self) -> dict[str, Cost]:
        cpu: dict[str, list[float]] = {name: [] for name, _ in self.cases}
        wall: dict[str, list[float]] = {name: [] for name, _ in self.cases}
        for _name, call in self.cases:  # warm-up
            for _ in range(10):
                call()
        for _ in range(self.rounds):
            for name, call in self.cases:
                samples = wall[name]
                cpu_start = time.process_time()
                for _ in range(self.per_round):
                    start = time.perf_counter()
                    call()
                    samples.append((time.perf_counter() - start) * 1e3)
                cpu[name].append((time.process_time() - cpu_start) * 1e3 / self.per_round)
        return {
            name: Cost(
                name,
                statistics.median(cpu[name]),
                statistics.median(wall[name]),
                percentile(wall[name], 0.95),
            )
            for name, _ in self.cases
        }


class BarePipeline:
    """The baseline: what any capture-and-read loop must do at least, with no framework."""

    def __init__(self, display: str, region: dict[str, int]) -> None:
        self.grabber = mss.MSS(display=display)
        self.region = region
        self.crop = Crop()
        self.previous = b""

    def close(self) -> None:
        self.grabber.close()

    def grab(self) -> np.ndarray:
        shot = self.grabber.grab(self.region)
        bgra = np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)
        return bgra[:, :, :3]

    def changed(self, pixels: np.ndarray) -> bool:
        sample = np.ascontiguousarray(pixels[::SAMPLE_STEP, ::SAMPLE_STEP]).tobytes()
        changed = sample != self.previous
        self.previous = sample
        return changed

    def grab_and_check(self) -> bool:
        return self.changed(self.grab())

    def full(self) -> bytes:
        pixels = self.grab()
        cropped = self.crop.apply(pixels)
        self.changed(pixels)  # the bench's window is static: read it anyway (a changed frame)
        read_trend(cropped)
        return thumbnail_jpeg(cropped)


def thumbnail_jpeg(cropped: np.ndarray) -> bytes:
    """A JPEG thumbnail at most THUMB_WIDTH wide, never enlarged (as the service's are not)."""
    thumb = cropped
    height, width = cropped.shape[:2]
    if width > THUMB_WIDTH:
        thumb = cv2.resize(
            cropped,
            (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width))),
            interpolation=cv2.INTER_AREA,
        )
    ok, jpeg = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return bytes(jpeg)


def find_window(source: X11Source, title: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in source.list_windows():
            if info.title == title:
                return info.hwnd
        time.sleep(0.05)
    raise RuntimeError(f"window {title!r} did not appear within {timeout:g} s")


def per_window(display: str, iterations: int, work_dir: Path) -> dict[str, Cost]:
    with ExitStack() as stack:
        windows = stack.enter_context(chart_windows(display))
        windows.open(TITLE, *ORIGIN, WIDTH, HEIGHT, "--grid")
        source = X11Source(display)
        stack.callback(source.close)
        screen_source = X11Source(display, use_composite=False)
        stack.callback(screen_source.close)
        hwnd = find_window(source, TITLE)
        region = {"left": ORIGIN[0], "top": ORIGIN[1], "width": WIDTH, "height": HEIGHT}
        bare = BarePipeline(display, region)
        stack.callback(bare.close)

        database_url = f"sqlite:///{work_dir / 'bench.sqlite3'}"
        upgrade(database_url)
        database = Database(database_url)
        stack.callback(database.dispose)
        manager = CaptureManager(
            Ledger(database),
            work_dir / "screenshots",
            ReadingSink(Ledger(database)),
            source_factory=lambda: X11Source(display),
        )

        def worker(
            name: str,
            on_reading: Callable[[CaptureWorker, Reading], None],
            probe: CaptureProbe | None = None,
        ) -> Any:
            config = WorkerConfig(
                hwnd=hwnd,
                interval=1.0,
                keep_last_n=5,
                analysis=AnalysisSettings(),
                output_folder=work_dir / name,
            )
            return CaptureWorker(config, lambda: X11Source(display), on_reading, probe=probe)

        changed = worker("changed", lambda _w, _r: None)
        stored = worker("stored", manager._store)
        unchanged = worker("unchanged", lambda _w, _r: None)
        metrics = CaptureMetrics(Metrics())
        changed_counted = worker("changed-metrics", lambda _w, _r: None, metrics)
        unchanged_counted = worker("unchanged-metrics", lambda _w, _r: None, metrics)

        def changed_tick(target: CaptureWorker) -> Callable[[], None]:
            def tick() -> None:
                target._signature = None  # force the read path, as a new frame would
                target._tick(source)

            return tick

        def capture_and_check() -> bool:
            frame = source.capture(hwnd)
            return (frame.title, frame_signature(frame.pixels)) == unchanged._signature

        timer = Timer(iterations)
        timer.add("bare: mss grab", bare.grab)
        timer.add("bare: grab + change check", bare.grab_and_check)
        timer.add("bare pipeline (baseline)", bare.full)
        still = bare.crop.apply(bare.grab())
        timer.add("  of which read_trend", lambda: read_trend(still))
        timer.add("  of which JPEG thumbnail", lambda: thumbnail_jpeg(still))
        timer.add("X11Source.capture (composite)", lambda: source.capture(hwnd))
        timer.add("X11Source.capture (screen, mss)", lambda: screen_source.capture(hwnd))
        timer.add("X11Source.capture + signature", capture_and_check)
        timer.add("product tick, changed", changed_tick(changed))
        timer.add("product tick, changed + ledger", changed_tick(stored))
        timer.add("product tick, unchanged", lambda: unchanged._tick(source))
        timer.add("product tick, changed + metrics", changed_tick(changed_counted))
        timer.add("product tick, unchanged + metrics", lambda: unchanged_counted._tick(source))
        unchanged._tick(source)
        unchanged_counted._tick(source)
        reads_before = unchanged.thumbnail_version
        costs = timer.run()
        reread = unchanged.thumbnail_version - reads_before
        methods = {changed.method, unchanged.method}
        if reread:
            print(f"warning: the 'unchanged' window changed {reread} times during the run")
        if changed.failed_captures or stored.failed_captures or changed.state != "running":
            print(f"warning: worker state {changed.state} {changed.last_error}")
        print(f"capture method used by the product's ticks: {', '.join(sorted(map(str, methods)))}")
        return costs


def report_per_window(costs: dict[str, Cost], iterations: int) -> list[bool]:
    print()
    print(
        f"1. one {WIDTH}x{HEIGHT} window, one thread, {iterations} calls per case "
        f"(cv2 threads={cv2.getNumThreads()})"
    )
    print(f"{'case':34} {'cpu ms':>8} {'wall ms':>8} {'p95 ms':>8} {'cpu x base':>10}")
    base = costs["bare pipeline (baseline)"]
    for cost in costs.values():
        print(
            f"{cost.name:34} {cost.cpu_ms:8.3f} {cost.wall_ms:8.3f} {cost.p95_ms:8.3f} "
            f"{cost.cpu_ms / base.cpu_ms:10.2f}"
        )
    changed = costs["product tick, changed"]
    stored = costs["product tick, changed + ledger"]
    unchanged = costs["product tick, unchanged"]
    grab_check = costs["bare: grab + change check"]
    capture_check = costs["X11Source.capture + signature"]
    ratios = [
        ("changed tick / bare pipeline (cpu)", changed.cpu_ms / base.cpu_ms, CHANGED_TARGET),
        ("changed tick / bare pipeline (wall)", changed.wall_ms / base.wall_ms, CHANGED_TARGET),
        (
            "unchanged tick / (bare grab + check) (cpu)",
            unchanged.cpu_ms / grab_check.cpu_ms,
            UNCHANGED_TARGET,
        ),
        (
            "unchanged tick / (bare grab + check) (wall)",
            unchanged.wall_ms / grab_check.wall_ms,
            UNCHANGED_TARGET,
        ),
    ]
    print()
    print(f"{'ratio':46} {'value':>7} {'target':>7}")
    results = []
    for name, value, target in ratios:
        ok = value <= target
        results.append(ok)
        print(f"{name:46} {value:7.2f} {'<= ' + format(target, 'g'):>7}  {verdict(ok)}")
    print(
        f"{'  (info) changed+ledger / bare pipeline (cpu)':46} "
        f"{stored.cpu_ms / base.cpu_ms:7.2f}   ledger write ~"
        f"{stored.cpu_ms - changed.cpu_ms:.3f} ms"
    )
    for kind in ("changed", "unchanged"):
        counted = costs[f"product tick, {kind} + metrics"].cpu_ms
        plain = costs[f"product tick, {kind}"].cpu_ms
        ok = counted / plain <= METRICS_TARGET
        results.append(ok)
        print(
            f"{f'{kind} tick with metrics / without (cpu)':46} {counted / plain:7.3f} "
            f"{'<= ' + format(METRICS_TARGET, 'g'):>7}  {verdict(ok)}"
        )
    print(
        f"{'  (info) unchanged / (product capture + check)':46} "
        f"{unchanged.cpu_ms / capture_check.cpu_ms:7.2f}   (no reading work when unchanged)"
    )
    return results


# -- part 2: fifty windows at 1 Hz -------------------------------------------------------


def ticker(index: int) -> str:
    return "Q" + chr(ord("A") + index // 26) + chr(ord("A") + index % 26)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def server_processes(pid: int) -> list[psutil.Process]:
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def find_server_pid(port: int) -> int:
    """Our own child running ``serve --port <port>`` (uvicorn with one worker: in-process)."""
    return int(child_serving(port).pid)


def fleet(
    vdisplay: VirtualDisplay, count: int, seconds: float, settle: float, work_dir: Path
) -> list[bool]:
    display = vdisplay.display
    port = free_port()
    data_dir = work_dir / "fleet-data"
    env = {"BACKEND_API_KEY": API_KEY, "DISPLAY": display}
    command = serve_command(port, data_dir, "--log-level", "warning")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with chart_windows(display) as windows, server(command, port, env) as base_url:
        client = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        try:
            tickers = [ticker(i) for i in range(count)]
            started = time.monotonic()
            for index, symbol in enumerate(tickers):
                extra = ["--animate"] if index % 2 == 0 else []
                x, y = (index % 8) * 120, (index // 8) * 100
                windows.open(f"{symbol} {100 + index:.2f} - Robinhood", x, y, 320, 200, *extra)
            hwnds = wait_for_fleet(client, tickers, timeout=180)
            print(f"\n2. {count} windows listed after {time.monotonic() - started:.1f} s")
            for hwnd in hwnds.values():
                response = client.post("/start_multi", json={"hwnd": hwnd, "interval": 1})
                response.raise_for_status()
            time.sleep(settle)
            pid = find_server_pid(port)
            processes = server_processes(pid)
            xvfb = psutil.Process(vdisplay.process.pid)
            before = workers_summary(client)
            reads_start = observation_count(data_dir)
            cpu_start, x_start = cpu_seconds(processes), cpu_seconds([xvfb])
            wall_start = time.monotonic()
            time.sleep(seconds)
            cpu_end, x_end = cpu_seconds(processes), cpu_seconds([xvfb])
            elapsed = time.monotonic() - wall_start
            reads = observation_count(data_dir) - reads_start
            after = workers_summary(client)
        finally:
            with contextlib.suppress(httpx.HTTPError):
                client.post("/stop_all_workers")
            client.close()
    server_pct = (cpu_end - cpu_start) / elapsed * 100
    xvfb_pct = (x_end - x_start) / elapsed * 100
    captures = after["successful"] - before["successful"]
    print(f"   {count} workers at 1 Hz, measured over {elapsed:.1f} s after {settle:g} s settling")
    print(f"   {'server process CPU':40} {server_pct:6.1f} % of one core")
    print(f"   {'  per capture':40} {(cpu_end - cpu_start) / max(captures, 1) * 1e3:6.2f} ms")
    print(f"   {'(info) Xvfb CPU answering the captures':40} {xvfb_pct:6.1f} % of one core")
    print(
        f"   captures in the window: {captures} ({captures / elapsed:.1f}/s), "
        f"observations stored (changed frames): {reads}, "
        f"failed total: {after['failed']}, states: {after['states']}, "
        f"methods: {after['methods']}"
    )
    max_lag = after["max_lag"]
    cpu_ok = server_pct < FLEET_CPU_TARGET
    lag_ok = max_lag <= 1.0
    print(
        f"   {'server CPU (% of one core)':40} {server_pct:6.1f}  < {FLEET_CPU_TARGET:g}  "
        f"{verdict(cpu_ok)}"
    )
    print(f"   {'max_lag_seconds over workers':40} {max_lag:6.3f}  <= 1    {verdict(lag_ok)}")
    return [cpu_ok, lag_ok]


def wait_for_fleet(client: httpx.Client, tickers: list[str], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    wanted = set(tickers)
    found: dict[str, int] = {}
    while time.monotonic() < deadline:
        response = client.get("/windows")
        response.raise_for_status()
        for window in response.json():
            symbol = str(window["title"]).split(" ", 1)[0]
            if symbol in wanted:
                found[symbol] = int(window["hwnd"])
        if len(found) == len(wanted):
            return found
        time.sleep(0.5)
    raise RuntimeError(f"only {len(found)} of {len(wanted)} windows appeared in {timeout:g} s")


def workers_summary(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/workers")
    response.raise_for_status()
    statuses = [item["status"] for item in response.json()]
    states: dict[str, int] = {}
    methods: dict[str, int] = {}
    for status in statuses:
        states[status["state"]] = states.get(status["state"], 0) + 1
        method = str(status.get("capture_method"))
        methods[method] = methods.get(method, 0) + 1
    return {
        "successful": sum(int(s["successful_captures"]) for s in statuses),
        "failed": sum(int(s["failed_captures"]) for s in statuses),
        "max_lag": max((float(s["max_lag_seconds"]) for s in statuses), default=0.0),
        "states": states,
        "methods": methods,
    }


def observation_count(data_dir: Path) -> int:
    """Observations stored so far (one per changed frame), read from the server's SQLite."""
    uri = f"file:{data_dir / 'trade_analysis.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as connection:
        return int(connection.execute("SELECT count(*) FROM observations").fetchone()[0])


# -- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=300, help="calls per case (part 1)")
    parser.add_argument("--windows", type=int, default=50, help="windows in part 2")
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU measurement (part 2)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--skip-single", action="store_true", help="skip part 1")
    parser.add_argument("--skip-fleet", action="store_true", help="skip part 2")
    args = parser.parse_args()

    results: list[bool] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp,
        virtual_display() as vdisplay,
    ):
        work_dir = Path(tmp)
        print(f"Xvfb {vdisplay.display} (1280x800x24), {os.cpu_count()} CPUs")
        if not args.skip_single:
            costs = per_window(vdisplay.display, args.iterations, work_dir)
            results += report_per_window(costs, args.iterations)
        if not args.skip_fleet:
            results += fleet(vdisplay, args.windows, args.seconds, args.settle, work_dir)
    print()
    print(f"overall: {sum(results)}/{len(results)} targets met")


if __name__ == "__main__":
    main()
