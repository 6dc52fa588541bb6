"""Run the command as in a terminal: stdout and stderr on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """`trade-analysis ARGS` on a pseudo-terminal; what the terminal showed (it must succeed)."""
    leader, follower = pty.openpty()
    environment = {**os.environ, "COLUMNS": "100", "TERM": "xterm", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "trade_analysis", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
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
    shown = b"".join(chunks).decode(errors="replace")
    assert process.wait(60) == 0, shown
    return shown
