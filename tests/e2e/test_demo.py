"""`trade-analysis demo` as a real process: its windows keep trading, the rules it sets fire,
the dashboard URL is its last line, and SIGTERM or SIGINT stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from tests.server import free_port
from tests.support.xvfb import require_program, wait_until

pytestmark = [pytest.mark.x11, pytest.mark.slow, pytest.mark.timeout(300)]

KEY = "demo-key-5b1e"


@dataclass
class Demo:
    process: subprocess.Popen[str]
    pid: int
    port: int
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_url(self, timeout: float = 90) -> str:
        wait_until(
            lambda: any(line.startswith("Dashboard:") for line in self.lines),
            timeout=timeout,
            what=f"the dashboard URL; printed so far: {self.lines}",
        )
        return self.lines[-1]

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.pid).children(recursive=True)


def start_demo(tmp_path: Path, *, through_shell: bool) -> Iterator[Demo]:
    require_program("Xvfb", "xvfb")
    port = free_port()
    # No DISPLAY: the demo starts (and must stop) its own virtual one.
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {"BACKEND_API_KEY": KEY}
    env["DATABASE_URL"] = ""
    demo = [
        sys.executable,
        "-m",
        "trade_analysis",
        "demo",
        f"--port={port}",
        f"--data-dir={tmp_path / 'demo-data'}",
        "--phase-seconds=6",
    ]
    if through_shell:
        # As `sh -c 'trade-analysis demo &'` does: a background job of a shell without job
        # control starts with SIGINT ignored. The shell prints the demo's pid first.
        command = ["sh", "-c", 'exec 2>&1; "$@" & echo "$!"; wait', "sh", *demo]
    else:
        command = demo
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    pid = int(process.stdout.readline()) if through_shell else process.pid
    started = Demo(process, pid, port)
    threading.Thread(target=started.read, daemon=True).start()
    try:
        yield started
    finally:
        if alive(pid):  # a failed test: leave nothing behind
            for child in [*started.descendants(), psutil.Process(pid)]:
                child.kill()
        process.kill()
        process.wait()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    yield from start_demo(tmp_path, through_shell=False)


@pytest.fixture
def shell_demo(tmp_path: Path) -> Iterator[Demo]:
    yield from start_demo(tmp_path, through_shell=True)


def assert_stops_everything(demo: Demo, signum: signal.Signals) -> None:
    children = demo.descendants()
    names = {child.name() for child in children}
    assert any("Xvfb" in name for name in names) and len(children) >= 5, names
    os.kill(demo.pid, signum)
    # "Within a few seconds": the bound a user would wait, not a measurement.
    wait_until(lambda: not alive(demo.pid), timeout=10, what=f"the demo to exit on {signum.name}")
    left = [child for child in children if alive(child.pid)]
    assert left == [], f"still running after {signum.name}: {left}"


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_demo_keeps_trading_fires_its_rules_and_stops_on_sigterm(demo: Demo) -> None:
    last = demo.wait_for_url()
    assert last == f"Dashboard: http://127.0.0.1:{demo.port}/  (API key: {KEY})"
    headers = {"Authorization": f"Bearer {KEY}"}
    reasons: set[str] = set()

    def rules_fired() -> bool:
        trades = httpx.get(
            f"http://127.0.0.1:{demo.port}/trades", headers=headers, timeout=5
        ).json()["all_trades"]
        reasons.update(trade["win_reason"] for trade in trades)
        return {"take_profit", "stop_loss"} <= reasons and len(trades) >= 6

    wait_until(
        rules_fired, timeout=150, interval=2, what=f"take profit and stop loss (seen {reasons})"
    )
    bots = httpx.get(f"http://127.0.0.1:{demo.port}/bots", headers=headers, timeout=5).json()
    with_exits = [bot for bot in bots if (bot["meta"].get("rules") or {}).get("take_profit")]
    assert len(with_exits) == 2 and all(bot["meta"]["rules"]["stop_loss"] for bot in with_exits)
    # Nothing after the URL: the server and windows log to a file, not to the terminal.
    assert demo.lines[-1] == last
    assert_stops_everything(demo, signal.SIGTERM)


def test_sigint_stops_the_demo_even_from_a_non_interactive_shell(shell_demo: Demo) -> None:
    shell_demo.wait_for_url()
    assert psutil.Process(shell_demo.pid).name().startswith("python")
    assert_stops_everything(shell_demo, signal.SIGINT)
