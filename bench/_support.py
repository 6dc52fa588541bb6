"""Helpers shared by the benchmarks: free ports, server subprocesses, percentiles."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

TRADE_ANALYSIS = Path(sys.executable).with_name("trade-analysis")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of unsorted samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def wait_for_ping(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering /ping")
        try:
            if httpx.get(f"{base_url}/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base_url}/ping did not answer within {timeout:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown, lifespan included
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def server(
    command: Sequence[str], port: int, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start a server subprocess, wait for /ping, yield its base URL, stop it afterwards.

    Its output goes to a temporary log, shown only if it fails to start.
    """
    with server_process(command, port, env) as (base_url, _process):
        yield base_url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(
    command: Sequence[str], port: int, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`server`, also yielding the process (for its CPU time)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_ping(base_url, process)
            except RuntimeError:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            yield base_url, process
        finally:
            stop(process)


def child_serving(port: int) -> psutil.Process:
    """Our own child process started with `port` on its command line (a one-worker server)."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if str(port) in child.cmdline():
                return child
    raise RuntimeError(f"no server process for port {port}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
