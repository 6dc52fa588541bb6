"""Every way to start the service refuses the default key beyond loopback, and serves on it.

Each entry point runs as a real process: `trade-analysis serve`, `python main.py`,
`uvicorn main:app` (one process and `--workers 2`) and gunicorn with uvicorn workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_seed_entry_points import ROOT, wait_for_ping
from tests.server import free_port

pytestmark = [pytest.mark.slow]

REFUSAL = "refusing to listen on '0.0.0.0' with the default API key"
DEFAULT_AUTH = {"Authorization": "Bearer devkey"}


def entry_point(how: str, host: str, port: int) -> list[str]:
    python = sys.executable
    return {
        "serve": [python, "-m", "trade_analysis", "serve", "--host", host, "--port", str(port)],
        "python main.py": [python, "main.py", "--host", host, "--port", str(port)],
        "uvicorn": [python, "-m", "uvicorn", "main:app", "--host", host, "--port", str(port)],
        "uvicorn --workers": [
            *[python, "-m", "uvicorn", "main:app", "--host", host, "--port", str(port)],
            *["--workers", "2"],
        ],
        "gunicorn": [
            *[python, "-m", "gunicorn", "main:app", "-k", "uvicorn.workers.UvicornWorker"],
            *["-b", f"{host}:{port}", "--graceful-timeout", "5"],
        ],
    }[how]


def default_key_environment(data_dir: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BACKEND_API_KEY", "BACKEND_API_KEYS"}
    }
    # memory:// bus and SQLite: these processes must not share anything with other tests.
    env.pop("DATABASE_URL", None)
    return {**env, "TRADE_ANALYSIS_DATA_DIR": str(data_dir), "BUS_URL": "memory://"}


ENTRY_POINTS = ["serve", "python main.py", "uvicorn", "uvicorn --workers", "gunicorn"]


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_the_default_key_is_refused_on_a_public_address(how: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            entry_point(how, "0.0.0.0", port),
            cwd=ROOT,
            env=default_key_environment(tmp_path / "data"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    served: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while process.poll() is None and time.monotonic() < deadline:
            # Whatever the process does before it exits, it never serves the ledger.
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/trades", headers=DEFAULT_AUTH)
                served.append(response.status_code)
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        assert process.poll() is not None, "still running with the default key on 0.0.0.0"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(15)
    output_text = log.read_text()
    assert REFUSAL in output_text, output_text[-3000:]
    assert 200 not in served
    if how != "uvicorn --workers":  # uvicorn's supervisor exits 0 when its workers cannot start
        assert process.returncode != 0


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_the_default_key_serves_on_loopback(how: str, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        entry_point(how, "127.0.0.1", port),
        cwd=ROOT,
        env=default_key_environment(tmp_path / "data"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", process, timeout=60)
        response = httpx.get(f"http://127.0.0.1:{port}/trades", headers=DEFAULT_AUTH)
        assert response.status_code == 200
        time.sleep(0.5)  # past the guard's watch: the server stays up
        assert process.poll() is None
        assert httpx.get(f"http://127.0.0.1:{port}/bots", headers=DEFAULT_AUTH).status_code == 200
    finally:
        process.terminate()
        process.wait(20)
