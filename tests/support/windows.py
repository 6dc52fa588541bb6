"""Real windows for tests: Tk chart windows and Chromium app windows on a given display.

A ``WindowLauncher`` starts each window as a subprocess with ``DISPLAY`` set and polls
the X11 source until a window with the exact title is listed (no fixed sleeps). It
owns its own X11Source (one X connection per thread: use a launcher from one thread).
Everything it started is killed on ``close()``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.xvfb import missing
from trade_analysis.capture.frame import WindowInfo
from trade_analysis.capture.sources.x11 import X11Source

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-default-browser-check",
    "--password-store=basic",
)


@dataclass(frozen=True)
class LaunchedWindow:
    process: subprocess.Popen[bytes]
    info: WindowInfo

    @property
    def hwnd(self) -> int:
        return self.info.hwnd


class WindowLauncher:
    def __init__(self, display: str) -> None:
        self.display = display
        self.source = X11Source(display)
        self._processes: list[subprocess.Popen[bytes]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="ta-windows-")
        self._logs: dict[int, Path] = {}

    # -- launching -----------------------------------------------------------------

    def chart(
        self,
        title: str,
        *,
        trend: str = "up",
        x: int = 10,
        y: int = 10,
        width: int = 640,
        height: int = 400,
        color: str = "#00c805",
        theme: str = "light",
        grid: bool = False,
        reference: bool = False,
        animate: bool = False,
        interval_ms: int = 1000,
        timeout: float = 20.0,
    ) -> LaunchedWindow:
        """A demo chart window (``python -m trade_analysis.demo.chart_window``)."""
        args = [
            sys.executable,
            "-m",
            "trade_analysis.demo.chart_window",
            f"--title={title}",
            f"--trend={trend}",
            f"--x={x}",
            f"--y={y}",
            f"--width={width}",
            f"--height={height}",
            f"--color={color}",
            f"--theme={theme}",
            f"--interval-ms={interval_ms}",
        ]
        args += ["--grid"] * grid + ["--reference"] * reference + ["--animate"] * animate
        process = self._spawn(args, "chart")
        return LaunchedWindow(process, self.wait_for_title(title, process, timeout))

    def chromium(
        self, html: str, title: str, *, width: int = 800, height: int = 600, timeout: float = 60.0
    ) -> LaunchedWindow:
        """A real (not headless) Chromium app window showing ``html``; waits for ``title``."""
        binary = shutil.which("chromium")
        if binary is None:
            missing("chromium is not installed (Debian package 'chromium')")
        page = Path(self._tmp.name) / f"page-{len(self._processes)}.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(self._tmp.name) / f"profile-{len(self._processes)}"
        args = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--window-position=0,0",
            f"--app={page.as_uri()}",
        ]
        process = self._spawn(args, "chromium", new_session=True)
        return LaunchedWindow(process, self.wait_for_title(title, process, timeout))

    def _spawn(
        self, args: list[str], label: str, *, new_session: bool = False
    ) -> subprocess.Popen[bytes]:
        log = Path(self._tmp.name) / f"{label}-{len(self._processes)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                args,
                env={**os.environ, "DISPLAY": self.display},
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
            )
        self._processes.append(process)
        self._logs[process.pid] = log
        return process

    def wait_for_title(
        self, title: str, process: subprocess.Popen[bytes], timeout: float
    ) -> WindowInfo:
        """Poll the window list until ``title`` is there; fail early if the app died."""
        deadline = time.monotonic() + timeout
        while True:
            for info in self.source.list_windows():
                if info.title == title:
                    return info
            if process.poll() is not None:
                raise AssertionError(
                    f"window process exited ({process.returncode}) before showing {title!r}:\n"
                    + self.log_of(process)
                )
            if time.monotonic() > deadline:
                titles = [w.title for w in self.source.list_windows()]
                raise AssertionError(
                    f"no window titled {title!r} after {timeout}s; listed: {titles}\n"
                    + self.log_of(process)
                )
            time.sleep(0.05)

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        log = self._logs.get(process.pid)
        if log is None or not log.exists():
            return ""
        return log.read_text(errors="replace")[-4000:]

    # -- ending --------------------------------------------------------------------

    def kill(self, launched: LaunchedWindow | subprocess.Popen[bytes]) -> None:
        process = launched.process if isinstance(launched, LaunchedWindow) else launched
        if process.poll() is None:
            if process.pid != os.getpgid(process.pid):
                process.kill()
            else:  # its own session (chromium): end its helpers too
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def close(self) -> None:
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                self.kill(process)
        self._processes.clear()
        self.source.close()
        self._tmp.cleanup()


@pytest.fixture
def chart_windows(xvfb_display: str) -> Iterator[WindowLauncher]:
    """A launcher for windows on the bare (no window manager) Xvfb; kills them after."""
    launcher = WindowLauncher(xvfb_display)
    try:
        yield launcher
    finally:
        launcher.close()
