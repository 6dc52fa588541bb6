"""Run the command as in a terminal: stderr (and stdout, unless told) on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def terminal_run(
    *args: str, env: dict[str, str] | None = None, stdout_too: bool = True
) -> tuple[int, str]:
    """`trade-analysis ARGS` on a pseudo-terminal: its exit status and what the terminal showed."""
    leader, follower = pty.openpty()
    environment = {**os.environ, "COLUMNS": "100", "TERM": "xterm", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "trade_analysis", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.DEVNULL,
        stderr=follower,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode(errors="replace")


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """`trade-analysis ARGS` on a pseudo-terminal; what the terminal showed (it must succeed)."""
    status, shown = terminal_run(*args, env=env)
    assert status == 0, shown
    return shown
