"""A real chart window under Xvfb, captured by the real server while its database is held:
the signal read from the frame is stored and traded once the database is back, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.support.locks import database_held
from tests.support.polling import poll
from tests.support.windows import WindowLauncher

pytestmark = [pytest.mark.x11]


@pytest.fixture
def api(tmp_path: Path, xvfb_display: str, database_url: str) -> Iterator[httpx.Client]:
    server = ServerProcess(
        tmp_path / "data",
        {
            "BACKEND_API_KEY": TEST_KEY,
            "DATABASE_URL": database_url,
            "DISPLAY": xvfb_display,
            "DB_LOCK_TIMEOUT_SECONDS": "0.5",  # each store gives up quickly while held
        },
    ).start()
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=20) as client:
        yield client
    server.stop()


def test_a_frame_read_while_the_database_is_held_trades_once_it_is_back(
    api: httpx.Client, chart_windows: WindowLauncher, database_url: str
) -> None:
    window = chart_windows.chart("AAPL 100.00 - Feed", trend="up")

    def worker() -> dict[str, Any]:
        (found,) = [w for w in api.get("/workers").json() if w["hwnd"] == window.hwnd]
        return found

    def trades() -> list[dict[str, Any]]:
        return list(api.get("/trades").json()["all_trades"])

    with database_held(database_url):
        started = api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
        assert started.status_code == 200, started.text
        read = poll(worker, lambda w: (w["last_result"] or {}).get("trend") == "up")
        # The chart stays still from here on: only the pending reading can still trade.
        poll(
            worker, lambda w: w["status"]["total_captures"] >= read["status"]["total_captures"] + 3
        )
        assert trades() == []
    (bought,) = poll(trades, lambda found: len(found) > 0)
    assert (bought["direction"], bought["ticker"], bought["price"]) == ("buy", "AAPL", 100.0)
    later = worker()
    poll(worker, lambda w: w["status"]["total_captures"] >= later["status"]["total_captures"] + 3)
    assert trades() == [bought]
