"""Real X servers for tests: Xvfb on a free display number, optionally with openbox.

``xvfb_display`` (session) is a bare server with no window manager; ``wm_display``
(session) is a second server running openbox. Both skip with a reason when the program
is not installed, unless ``TA_REQUIRE_E2E=1`` is set, which turns the skip into a failure
(CI runs with it so a missing package cannot silently turn the suite green).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import pytest

from tests.support.polling import poll

SCREEN_WIDTH = 1280
SCREEN_HEIGHT = 800


def e2e_required() -> bool:
    return os.environ.get("TA_REQUIRE_E2E") == "1"


def missing(what: str) -> NoReturn:
    """Skip (or fail under TA_REQUIRE_E2E=1) because ``what`` is not available."""
    message = f"{what} (apt-get install it; set TA_REQUIRE_E2E=1 to make this a failure)"
    if e2e_required():
        pytest.fail(f"TA_REQUIRE_E2E=1 but {what}", pytrace=False)
    pytest.skip(message)


def require_program(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (Debian package {package!r})")
    return path


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 10.0,
    what: str = "the condition",
    interval: float = 0.02,
) -> None:
    """Poll ``predicate`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    poll(predicate, bool, timeout, what, interval)


@dataclass(frozen=True)
class XServer:
    display: str
    process: subprocess.Popen[bytes]


def _read_display_number(fd: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    """Xvfb writes its display number to ``-displayfd`` once it accepts connections."""
    deadline = time.monotonic() + timeout
    received = b""
    while not received.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise RuntimeError(
                f"Xvfb did not start (exit code {process.poll()}): "
                f"{process.stderr.read().decode(errors='replace') if process.stderr else ''}"
            )
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                continue
            received += chunk
    return int(received.strip())


@contextmanager
def running_xvfb(
    width: int = SCREEN_WIDTH, height: int = SCREEN_HEIGHT, depth: int = 24
) -> Iterator[XServer]:
    """An Xvfb on a free display number, ready for clients; killed on exit.

    The read end of the ``-displayfd`` pipe stays open while the server runs: Xvfb was
    seen to die with "Cannot write display number to fd N" when it had been closed.
    """
    xvfb = require_program("Xvfb", "xvfb")
    read_fd, write_fd = os.pipe()
    process: subprocess.Popen[bytes] | None = None
    try:
        process = subprocess.Popen(
            [
                xvfb,
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{width}x{height}x{depth}",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(write_fd)
        write_fd = -1
        display = f":{_read_display_number(read_fd, process, timeout=15)}"
        wait_until(lambda: _accepts_clients(display), timeout=10, what=f"Xvfb {display}")
        yield XServer(display=display, process=process)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
        if write_fd >= 0:
            os.close(write_fd)
        os.close(read_fd)


def _accepts_clients(display: str) -> bool:
    from Xlib import error
    from Xlib.display import Display

    try:
        Display(display).close()
    except error.DisplayError:
        return False
    return True


def _has_ewmh_manager(display: str) -> bool:
    from Xlib import Xatom
    from Xlib.display import Display

    conn = Display(display)
    try:
        root = conn.screen().root
        prop = root.get_full_property(conn.intern_atom("_NET_SUPPORTING_WM_CHECK"), Xatom.WINDOW)
        return prop is not None and len(prop.value) > 0
    finally:
        conn.close()


@contextmanager
def running_openbox(display: str) -> Iterator[subprocess.Popen[bytes]]:
    """openbox managing ``display``; waits until it announces itself (EWMH check window)."""
    openbox = require_program("openbox", "openbox")
    env = {**os.environ, "DISPLAY": display}
    process = subprocess.Popen(
        [openbox, "--sm-disable"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _has_ewmh_manager(display), timeout=15, what="openbox to start")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """DISPLAY string (e.g. ``":5"``) of a 1280x800x24 Xvfb with no window manager."""
    with running_xvfb() as server:
        yield server.display


@pytest.fixture(scope="session")
def wm_display() -> Iterator[str]:
    """DISPLAY string of a second 1280x800x24 Xvfb managed by openbox."""
    with running_xvfb() as server, running_openbox(server.display):
        yield server.display
