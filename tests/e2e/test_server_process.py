"""The real server process: restarts keep positions, a hard kill loses no acknowledged upload."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.images import image_bytes
from tests.server import ServerProcess
from tests.support.polling import poll


@pytest.fixture
def server_env(database_url: str) -> dict[str, str]:
    return {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", server_env)
    yield process
    process.stop()


def test_a_position_opened_before_a_restart_is_closed_after_it(server: ServerProcess) -> None:
    server.start()
    bought = httpx.post(
        server.url + "/ingest",
        headers=AUTH,
        data={"bot": "w1", "ticker": "AAPL", "price": "187.50", "trend": "up"},
    )
    assert bought.json()["trade"]["direction"] == "buy"
    server.stop()

    server.start()
    assert (
        httpx.get(server.url + "/trades", headers=AUTH).json()["tickers"]["AAPL"]["position"]
        == "long"
    )
    sold = httpx.post(
        server.url + "/ingest",
        headers=AUTH,
        data={"bot": "w1", "ticker": "AAPL", "price": "189.25", "trend": "down"},
    )
    assert sold.json()["trade"]["direction"] == "sell"
    assert sold.json()["trade"]["profit"] == 1.75
    (record,) = [
        r for r in httpx.get(server.url + "/history", headers=AUTH).json() if r["kind"] == "trade"
    ]
    assert (record["buy_price"], record["sell_price"]) == (187.5, 189.25)


def test_hard_kill_during_uploads_loses_no_acknowledged_upload(server: ServerProcess) -> None:
    server.start()
    acknowledged: list[dict] = []
    stop = threading.Event()

    def upload(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
            for index in range(10_000):
                if stop.is_set():
                    return
                try:
                    response = client.post(
                        "/ingest",
                        files={
                            "file": (
                                "f.png",
                                image_bytes(seed=worker * 100_000 + index),
                                "image/png",
                            )
                        },
                        data={
                            "ticker": "AAPL",
                            "price": f"{100 + index % 7}",
                            "trend": "up",
                            "bot": f"uploader-{worker}",
                        },
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acknowledged.append(response.json())

    threads = [threading.Thread(target=upload, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    poll(lambda: len(acknowledged), lambda count: count >= 40, timeout=60)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(30)

    server.start()
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        rows = client.get("/history", params={"limit": 1000}).json()
        observation_ids = {row["id"] for row in rows if row["kind"] == "observation"}
        for ack in acknowledged:
            assert ack["record_id"] in observation_ids
            assert client.get(ack["image_url"]).status_code == 200
        for row in rows:
            if row["image_url"]:
                assert client.get(row["image_url"]).status_code == 200, row
    # Half-written files of uploads that were never acknowledged are swept at start.
    assert [name for name in os.listdir(server.data_dir / "uploads") if name.startswith(".")] == []
