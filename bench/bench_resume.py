"""Cost of the periodic look for the windows of waiting bots, with 50 real windows.

Starts its own Xvfb and one Tk process showing 50 top-level windows whose titles
carry a price that changes every second (`W07 $123.45 +0.52% - Bench`). A capture
manager on a fresh SQLite ledger has bots waiting for windows that are not there,
so every look lists the windows, reduces each title to its stem and looks it up,
and resumes nothing: the steady cost while a bot waits.

Run by hand:

    .venv/bin/python bench/bench_resume.py [--looks 200] [--waiting 5] [--every 3]

Prints, per call: CPU milliseconds of this process and of the X server, wall time,
the ratio against a bare window listing (one open X connection) measured in the
same run, and the percent of one core the look costs when run every `--every`
seconds (RESUME_LOOK_SECONDS, default 3).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from bench_capture import xvfb

from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.capture.sources.x11 import X11Source
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.trading.binding import WindowIdentity
from trade_analysis.trading.ledger import CaptureWish, Ledger

WINDOWS = 50

# One Tk process, WINDOWS top-level windows, each title's price moving every second.
_WINDOWS_SCRIPT = """
import random, sys, tkinter as tk
count = int(sys.argv[1])
root = tk.Tk()
root.withdraw()
windows = []
for index in range(count):
    top = tk.Toplevel(root)
    top.geometry(f"160x90+{(index % 10) * 120}+{(index // 10) * 140}")
    windows.append(top)
def tick():
    for index, top in enumerate(windows):
        price = 100 + index + random.random() * 10
        top.title(f"W{index:02d} ${price:,.2f} {random.uniform(-2, 2):+.2f}% - Bench")
    root.after(1000, tick)
tick()
root.mainloop()
"""


def wait_for_windows(display: str, count: int, timeout: float = 30.0) -> None:
    source = X11Source(display)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(w.title.endswith("- Bench") for w in source.list_windows()) >= count:
                return
            time.sleep(0.1)
    finally:
        source.close()
    raise RuntimeError(f"{count} windows did not appear")


def measure(call: Callable[[], object], calls: int, server: psutil.Process) -> tuple[float, ...]:
    """CPU ms of this process, CPU ms of the X server and wall ms, per call."""
    for _ in range(5):
        call()
    ours, theirs, wall = time.process_time(), server.cpu_times(), time.perf_counter()
    for _ in range(calls):
        call()
    wall = time.perf_counter() - wall
    ours = time.process_time() - ours
    after = server.cpu_times()
    xserver = (after.user + after.system) - (theirs.user + theirs.system)
    return tuple(value * 1000 / calls for value in (ours, xserver, wall))


def waiting_manager(display: str, folder: Path, waiting: int) -> CaptureManager:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    ledger = Ledger(Database(url))
    for index in range(waiting):
        # Bots whose windows are gone: bound once to a window id that no longer exists.
        gone = WindowIdentity("python3", f"GONE{index} - Elsewhere")
        bot = ledger.bind_window(10_000 + index, gone, capture=CaptureWish(1.0)).bot
        ledger.set_capture_state(bot, unbind=True)
    manager = CaptureManager(
        ledger,
        folder / "screenshots",
        ReadingSink(ledger),
        source_factory=lambda: X11Source(display),
    )
    assert manager.resume_saved() == [], "no waiting bot should find a window"
    return manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--looks", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=5)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between looks")
    args = parser.parse_args()

    with xvfb() as display, tempfile.TemporaryDirectory() as folder:
        server = next(p for p in psutil.Process().children() if p.name() == "Xvfb")
        windows = subprocess.Popen(
            [sys.executable, "-c", _WINDOWS_SCRIPT, str(WINDOWS)],
            env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        )
        try:
            wait_for_windows(display, WINDOWS)
            persistent = X11Source(display)
            manager = waiting_manager(display, Path(folder), args.waiting)
            idle = waiting_manager(display, Path(folder) / "idle", 0)

            def fresh_listing() -> None:
                source = X11Source(display)
                try:
                    source.list_windows()
                finally:
                    source.close()

            calls = {
                "bare listing (open connection)": persistent.list_windows,
                "listing, new connection": fresh_listing,
                f"look, {args.waiting} bots waiting": manager.look_for_windows,
                "look, no bot waiting": idle.look_for_windows,
            }
            rows = [(name, measure(call, args.looks, server)) for name, call in calls.items()]
            persistent.close()
        finally:
            windows.kill()
            windows.wait()

    base = rows[0][1][0] + rows[0][1][1]
    print(f"{WINDOWS} windows on Xvfb, {args.looks} calls each; a look every {args.every:g} s")
    print(f"{'call':34} {'cpu ms':>8} {'X ms':>8} {'wall ms':>8} {'x bare':>7} {'% core':>7}")
    for name, (ours, xserver, wall) in rows:
        total = ours + xserver
        share = total / (args.every * 1000) * 100
        print(f"{name:34} {ours:8.3f} {xserver:8.3f} {wall:8.3f} {total / base:7.2f} {share:7.3f}")


if __name__ == "__main__":
    main()
