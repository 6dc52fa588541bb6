"""Windows CPython under Wine, driven from pytest on the host.

``windows`` (session) builds the rig of rig.py (or reuses it), starts an Xvfb of its own
and a wineserver that stays up for the session (so each ``python.exe`` starts in seconds,
not in the tens of seconds a cold Wine takes). Every test here is marked ``wine`` and
skips, naming what is missing, where Wine, mingw-w64 or the package index is not there;
under ``TA_REQUIRE_E2E=1`` (CI) that is a failure instead.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.polling import poll
from tests.support.xvfb import missing, running_xvfb
from tests.windows.rig import HERE, Rig, RigUnavailable, build, default_root, windows_path

CHART = HERE / "chart_win32.py"
FIRST_WINDOW = (
    "import ctypes; u = ctypes.WinDLL('user32');"
    "u.CreateWindowExW.restype = ctypes.c_void_p;"
    "assert u.CreateWindowExW(0, 'STATIC', 'first', 0, 0, 0, 1, 1, None, None, None, None)"
)


def _pump(stream: IO[bytes], log: Path) -> None:
    """Copy a process's output to its log: Windows CPython under Wine cannot write to a
    regular file as its standard output, only to a pipe."""
    with log.open("ab") as out:
        for line in stream:
            out.write(line)
            out.flush()


@dataclass
class WineProcess:
    process: subprocess.Popen[bytes]
    log: Path
    _pump: threading.Thread

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # wine relays it: the Windows process ends
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._pump.join(5)


@dataclass
class ChartProcess:
    wine: WineProcess
    hwnd: int
    pid: int
    control: Path

    def trend(self, trend: str) -> None:
        """From the chart's next tick on, its series goes ``trend`` (up, down, flat)."""
        self.control.write_text(trend)


@dataclass
class Windows:
    """The Windows interpreter: run a script to its end, or start a program."""

    rig: Rig
    display: str
    logs: Path
    started: list[WineProcess] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return self.rig.env(self.display, **extra)

    def run(self, code: str, *args: str, timeout: float = 120) -> str:
        """Run ``code`` on python.exe; its stdout (a failure shows its stderr too)."""
        script = Path(tempfile.mkstemp(suffix=".py", dir=self.logs)[1])
        script.write_text(code)
        result = subprocess.run(
            self.rig.command(windows_path(script), *args),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        stdout = result.stdout.decode(errors="replace")
        assert result.returncode == 0, f"python.exe failed:\n{stdout}\n{result.stderr.decode()}"
        return stdout

    def run_json(self, code: str, *args: str, timeout: float = 120) -> Any:
        """``run``, whose last line of output is JSON."""
        return json.loads(self.run(code, *args, timeout=timeout).strip().splitlines()[-1])

    def start(self, name: str, *args: str, **env: str) -> WineProcess:
        """``python.exe ARGS`` running, its output in a log."""
        return self.start_program(name, self.rig.command(*args), **env)

    def start_program(self, name: str, command: list[str], **env: str) -> WineProcess:
        log = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=self.logs)[1])
        process = subprocess.Popen(
            command,
            env=self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        pump = threading.Thread(target=_pump, args=(process.stdout, log), daemon=True)
        pump.start()
        started = WineProcess(process, log, pump)
        self.started.append(started)
        return started

    def chart(self, title: str, trend: str = "up", **options: object) -> ChartProcess:
        """A Win32 chart window (chart_win32.py), listed and painted once this returns."""
        control = Path(tempfile.mkstemp(suffix=".trend", dir=self.logs)[1])
        control.write_text(trend)
        args = [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
        wine = self.start(
            "chart", windows_path(CHART), f"--title={title}", f"--control={windows_path(control)}",
            *args,
        )  # fmt: skip

        def ready() -> tuple[int, int] | None:
            if wine.process.poll() is not None:
                raise AssertionError(f"the chart window exited:\n{wine.output()}")
            for line in wine.output().splitlines():
                if line.startswith("READY "):
                    _, hwnd, pid = line.split()
                    return int(hwnd), int(pid)
            return None

        hwnd, pid = poll(ready, bool, 60, f"chart window {title!r} to open", 0.1)
        return ChartProcess(wine, hwnd, pid, control)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()
        self.started.clear()


@pytest.fixture(scope="session")
def windows_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Windows]:
    try:
        rig = build(Rig(default_root()))
    except RigUnavailable as exc:
        missing(f"the Windows rig cannot be built here: {exc}")
    except SystemExit as exc:
        missing(f"the Windows rig failed to build: {exc}")
    with running_xvfb() as server, rig.session(server.display) as env:
        # The first window of a Wine session starts its desktop process (explorer.exe),
        # which inherits the standard output of the program that made the window and
        # outlives it: made here, with no pipe to hold open, no test waits on it.
        subprocess.run(
            rig.command("-c", FIRST_WINDOW), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120,
        )  # fmt: skip
        logs = tmp_path_factory.mktemp("wine")
        windows = Windows(rig, server.display, logs)
        try:
            yield windows
        finally:
            windows.stop_all()


@pytest.fixture
def windows(windows_session: Windows) -> Iterator[Windows]:
    """The session's Windows; every program a test started is stopped after it."""
    try:
        yield windows_session
    finally:
        windows_session.stop_all()
