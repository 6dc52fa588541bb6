"""Cost of one window capture: bare mss grab vs X11Source.capture() (composite and screen).

Starts its own Xvfb (1280x800x24) and a 640x400 demo chart window, then times each way
of getting the window's pixels. Run by hand:

    .venv/bin/python bench/bench_capture.py [--calls 300] [--blocks 10]

Prints a table (per-call milliseconds) and ratios against the bare mss grab, then the
composite capture's pixmap read with MIT-SHM (ShmGetImage into shared memory) against
the plain core GetImage (`use_shm=False`): calls in blocks alternating between the two,
so the machine's noise hits both alike; the ratio of medians is printed.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import mss

from trade_analysis.capture.sources.x11 import X11Source

WIDTH, HEIGHT = 640, 400
TITLE = "BENCH 100.00 - Robinhood"


@contextmanager
def xvfb() -> Iterator[str]:
    # The read end of -displayfd stays open while the server runs (Xvfb died with
    # "Cannot write display number" when it had been closed early).
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 15)
        if not ready:
            raise RuntimeError("Xvfb did not start")
        yield f":{os.read(read_fd, 64).decode().strip()}"
    finally:
        process.terminate()
        process.wait(timeout=5)
        os.close(read_fd)


@contextmanager
def chart_window(display: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trade_analysis.demo.chart_window",
            f"--title={TITLE}",
            "--x=10",
            "--y=10",
            f"--width={WIDTH}",
            f"--height={HEIGHT}",
            "--grid",
        ],
        env={**os.environ, "DISPLAY": display},
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def find_window(source: X11Source, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in source.list_windows():
            if info.title == TITLE:
                return info.hwnd
        time.sleep(0.05)
    raise RuntimeError(f"window {TITLE!r} did not appear")


def time_calls(call: Callable[[], object], calls: int) -> list[float]:
    for _ in range(10):  # warm-up (and the one-time Composite redirect)
        call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=10, help="alternating SHM/plain blocks")
    args = parser.parse_args()

    with xvfb() as display, chart_window(display):
        composite = X11Source(display)
        plain = X11Source(display, use_shm=False)
        screen = X11Source(display, use_composite=False)
        grabber = mss.MSS(display=display)
        try:
            hwnd = find_window(composite)
            region = {"left": 10, "top": 10, "width": WIDTH, "height": HEIGHT}
            rows = [
                (
                    "mss.grab (bare, shared memory)",
                    time_calls(lambda: grabber.grab(region), args.calls),
                ),
                (
                    "X11Source.capture composite",
                    time_calls(lambda: composite.capture(hwnd), args.calls),
                ),
                (
                    "X11Source.capture screen (mss)",
                    time_calls(lambda: screen.capture(hwnd), args.calls),
                ),
            ]
            with_shm, without_shm = alternating(
                lambda: composite.capture(hwnd), lambda: plain.capture(hwnd), args
            )
        finally:
            grabber.close()
            composite.close()
            plain.close()
            screen.close()

    base = statistics.median(rows[0][1])
    print(f"{WIDTH}x{HEIGHT} window on Xvfb, {args.calls} calls each (ms per call)")
    print(f"{'method':34} {'median':>8} {'mean':>8} {'p95':>8} {'max':>8} {'x mss':>7}")
    for name, samples in rows:
        ordered = sorted(samples)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        median = statistics.median(samples)
        print(
            f"{name:34} {median:8.3f} {statistics.fmean(samples):8.3f} {p95:8.3f} "
            f"{ordered[-1]:8.3f} {median / base:7.1f}"
        )
    print()
    shm, core = statistics.median(with_shm), statistics.median(without_shm)
    print(f"composite pixmap read, {len(with_shm)} calls each in {args.blocks} alternating blocks:")
    for name, samples in (("MIT-SHM ShmGetImage", with_shm), ("plain GetImage", without_shm)):
        print(
            f"  {name:20} median {statistics.median(samples):.3f} ms  "
            f"mean {statistics.fmean(samples):.3f} ms"
        )
    gain = 1 - shm / core
    print(f"  SHM / plain: {shm / core:.2f}x (SHM saves {100 * gain:.0f}%; kept if >= 10%)")


def alternating(
    first: Callable[[], object], second: Callable[[], object], args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    """Both calls timed in alternating blocks; their samples."""
    ones: list[float] = []
    others: list[float] = []
    per_block = max(1, args.calls // args.blocks)
    for _ in range(args.blocks):
        ones += time_calls(first, per_block)
        others += time_calls(second, per_block)
    return ones, others


if __name__ == "__main__":
    main()
