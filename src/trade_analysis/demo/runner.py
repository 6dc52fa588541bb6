"""`trade-analysis demo`: moving chart windows, the server, a worker on each, rules set.

Everything it starts runs in its own session (Ctrl-C reaches the demo alone, which
then stops the rest in order), writes to a log file in the data directory (the
terminal shows only what to open), and is stopped on SIGINT or SIGTERM, also when
the demo was started from a non-interactive shell, where SIGINT arrives ignored.
"""

from __future__ import annotations

import contextlib
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from trade_analysis.demo.chart_window import TRENDS, price_in_title

#: The phases each window moves through, in turn; each window starts at another one.
PHASES = ("up", "flat", "down", "flat")
#: Take profit and stop loss as a fraction of a window's first price.
RULE_FRACTION = Decimal("0.01")
STOP_WITHIN_SECONDS = 5.0


@dataclass(frozen=True)
class DemoWindow:
    title: str
    color: str
    theme: str
    # Which rules its bot gets: "take_profit", "stop_loss" (both by default, none: signals only).
    rules: tuple[str, ...] = ("take_profit", "stop_loss")


DEMO_WINDOWS = (
    DemoWindow("AAPL 189.23 - Robinhood", "#00c805", "light"),
    DemoWindow("TSLA $250.12 | Robinhood - Google Chrome", "#00c805", "dark"),
    DemoWindow("NVDA - $1,234.56 - Mozilla Firefox", "#ff5000", "light", rules=()),
)
#: The largest a demo chart gets, and the least that still reads well.
MAX_SIZE = (640, 400)
MIN_SIZE = (320, 200)
MARGIN = 10
#: Room above each window for a window manager's title bar, so every title shows.
TITLE_BAR = 30


@dataclass(frozen=True)
class Placement:
    x: int
    y: int
    width: int
    height: int


def layout(screen_width: int, screen_height: int, count: int) -> list[Placement]:
    """`count` windows in a grid that fits the screen, each with room for its title bar."""
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    cell_width = (screen_width - MARGIN * (columns + 1)) // columns
    cell_height = (screen_height - MARGIN * (rows + 1)) // rows
    width = max(MIN_SIZE[0], min(MAX_SIZE[0], cell_width))
    height = max(MIN_SIZE[1], min(MAX_SIZE[1], cell_height - TITLE_BAR))
    return [
        Placement(
            MARGIN + (index % columns) * (cell_width + MARGIN),
            MARGIN + (index // columns) * (cell_height + MARGIN) + TITLE_BAR,
            width,
            height,
        )
        for index in range(count)
    ]


def screen_size(display: str) -> tuple[int, int]:
    """The size of the X screen the demo draws on."""
    from Xlib.display import Display

    connection = Display(display)
    try:
        screen = connection.screen()
        return screen.width_in_pixels, screen.height_in_pixels
    finally:
        connection.close()


class DemoStopped(Exception):
    """SIGINT or SIGTERM arrived."""


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise DemoStopped(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM end the demo wherever it is waiting.

    Set explicitly: a shell that starts a program in the background without job
    control hands it SIGINT ignored, and Python keeps that. On the way out the
    signals are ignored, so a second Ctrl-C cannot cut the clean-up short.
    """
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)


def rotated(phases: tuple[str, ...], start: int) -> str:
    """The phases starting at `start`, as the chart window's `--phases` option."""
    count = len(phases)
    return ",".join(phases[(start + i) % count] for i in range(count))


def window_command(
    window: DemoWindow, index: int, place: Placement, phase_seconds: float
) -> list[str]:
    phases = rotated(PHASES, index)
    assert all(phase in TRENDS for phase in PHASES)
    return [
        sys.executable,
        "-m",
        "trade_analysis.demo.chart_window",
        f"--title={window.title}",
        f"--color={window.color}",
        f"--theme={window.theme}",
        f"--x={place.x}",
        f"--y={place.y}",
        f"--width={place.width}",
        f"--height={place.height}",
        "--animate",
        f"--phases={phases}",
        f"--phase-seconds={phase_seconds}",
    ]


def rules_for(window: DemoWindow) -> dict[str, str]:
    """Take profit / stop loss near enough to the price to fire within a phase."""
    amount = (Decimal(str(price_in_title(window.title))) * RULE_FRACTION).quantize(Decimal("0.01"))
    return {rule: str(amount) for rule in window.rules}


class Processes:
    """Children started in their own sessions, logging to one file; stopped together."""

    def __init__(self, log: IO[bytes], env: dict[str, str]) -> None:
        self._log = log
        self._env = env
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str]) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            command,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.append(child)
        return child

    def stop(self, timeout: float = STOP_WITHIN_SECONDS) -> None:
        """SIGTERM to all at once, then SIGKILL to whatever is left after `timeout`."""
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def start_workers(
    url: str,
    headers: dict[str, str],
    windows: tuple[DemoWindow, ...],
    alive: Callable[[], bool],
    timeout: float = 60,
    watched: Callable[[int], None] = lambda count: None,
) -> dict[int, DemoWindow]:
    """Find each demo window (by its title's first word: the price in it moves), watch it,
    and set its bot's rules; `watched` hears how many are watched so far. Returns the
    windows by hwnd."""
    found: dict[int, DemoWindow] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        while len(found) < len(windows):
            if time.monotonic() > deadline or not alive():
                raise RuntimeError(f"only {len(found)} of {len(windows)} demo windows came up")
            try:
                listed = client.get("/windows").json()
            except (httpx.TransportError, ValueError):
                time.sleep(0.3)
                continue
            for shown in listed if isinstance(listed, list) else []:
                window = _demo_window(shown.get("title", ""), windows)
                if window is None or shown["hwnd"] in found or window in found.values():
                    continue
                rules = rules_for(window)
                if rules:
                    client.put(
                        f"/bots/{shown['hwnd']}/settings", json={"rules": rules}
                    ).raise_for_status()
                client.post(
                    "/start_multi", json={"hwnd": shown["hwnd"], "interval": 1}
                ).raise_for_status()
                found[shown["hwnd"]] = window
                watched(len(found))
            time.sleep(0.3)
    return found


def _demo_window(title: str, windows: tuple[DemoWindow, ...]) -> DemoWindow | None:
    first = title.split()[0] if title.split() else ""
    return next((w for w in windows if w.title.split()[0] == first), None)


def wait_for_server(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited while starting")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /ping in time")


def log_path(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / "demo.log"
