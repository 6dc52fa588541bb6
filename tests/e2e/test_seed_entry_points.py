"""The seed's ways to start: `uvicorn main:app` and `python main.py`, from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for_ping(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(url + "/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("no answer to /ping")


@pytest.mark.parametrize("how", ["uvicorn", "python"])
def test_seed_entry_points_serve_the_api(how: str, tmp_path: Path) -> None:
    port = free_port()
    command = (
        [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)]
        if how == "uvicorn"
        else [sys.executable, "main.py", "--port", str(port)]
    )
    env = {**os.environ, "BACKEND_API_KEY": TEST_KEY, "TRADE_ANALYSIS_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", process)
        assert httpx.get(f"http://127.0.0.1:{port}/trades", headers=AUTH).status_code == 200
        assert (tmp_path / "trade_analysis.db").exists()
    finally:
        process.terminate()
        process.wait(15)
