"""The key never reaches a log line: URLs a browser opens carry `token=`, which is redacted."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import AUTH, TEST_KEY
from tests.images import image_bytes
from tests.server import ServerProcess


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_neither_key_nor_token_appears_in_the_server_log(
    tmp_path: Path, database_url: str, log_format: str
) -> None:
    server = ServerProcess(
        tmp_path / "data",
        {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url, "LOG_FORMAT": log_format},
    ).start()
    try:
        uploaded = httpx.post(
            server.url + "/ingest",
            headers=AUTH,
            files={"file": ("f.png", image_bytes(seed=1), "image/png")},
            data={"ticker": "AAPL", "price": "1", "trend": "up"},
        ).json()
        token = httpx.post(server.url + "/api/v1/ws-token", headers=AUTH).json()["token"]
        ws_url = server.url.replace("http://", "ws://")
        for credential in (TEST_KEY, token):
            # As an <img> tag loads it, and as the dashboard opens its socket.
            image = httpx.get(server.url + uploaded["image_url"], params={"token": credential})
            assert image.status_code == 200
            with connect(f"{ws_url}/api/v1/ws?token={credential}") as socket:
                assert '"hello"' in str(socket.recv(timeout=10))
            with connect(f"{ws_url}/ws?token={credential}") as socket:
                socket.recv(timeout=10)
    finally:
        server.stop()
    log = server.log.read_text()
    assert TEST_KEY not in log
    assert token not in log
    # The lines are there, redacted: the test saw what it checks.
    assert log.count("/api/v1/ws?token=[redacted]") >= 2, log[-3000:]
    assert log.count(uploaded["image_url"] + "?token=[redacted]") >= 2, log[-3000:]
