"""The service on Windows CPython (under Wine), through the doors users use.

- ``trade-analysis agent`` on Windows captures a Win32 chart window for a server on the
  host (Linux), over the host's Redis and PostgreSQL, as on a trading PC beside a server;
- ``python -m trade_analysis serve`` on Windows (SQLite, the default) answers the seed's
  calls about that window and trades its trend.

Each chart rises, then (once bought) falls: a buy, then a sell, in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.e2e.test_scale_out import deployment_env
from tests.server import ServerProcess, free_port
from tests.support.polling import poll
from tests.windows.conftest import ChartProcess, Windows, WineProcess
from tests.windows.rig import windows_path

pytestmark = [pytest.mark.wine, pytest.mark.timeout(600), pytest.mark.slow]


def trades_of(client: httpx.Client, ticker: str) -> list[dict[str, Any]]:
    answer = client.get("/trades")
    assert answer.status_code == 200, answer.text
    return [t for t in answer.json()["all_trades"] if t["ticker"] == ticker]


def rise_then_fall(client: httpx.Client, chart: ChartProcess, ticker: str) -> None:
    """The rising chart is bought; once it falls, sold."""
    bought = poll(lambda: trades_of(client, ticker), bool, 90, f"a trade of {ticker}", 0.5)
    assert bought[0]["direction"] == "buy", bought
    chart.trend("down")
    both = poll(
        lambda: trades_of(client, ticker),
        lambda trades: any(t["direction"] == "sell" for t in trades),
        90,
        f"a sell of {ticker} once its chart falls",
        0.5,
    )
    assert [t["direction"] for t in sorted(both, key=lambda t: t["id"])][:2] == ["buy", "sell"]


def listed_window(client: httpx.Client, hwnd: int, alive: WineProcess) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        if alive.process.poll() is not None:
            raise AssertionError(f"the Windows process exited:\n{alive.output()}")
        answer = client.get("/windows")
        if answer.status_code != 200:
            return None
        return next((w for w in answer.json() if w["hwnd"] == hwnd), None)

    found: dict[str, Any] = poll(find, bool, 240, f"window {hwnd} in /windows", 0.5)
    return found


# -- the agent on Windows, the server on Linux ----------------------------------------------


@pytest.fixture
def shared_env() -> dict[str, str]:
    return deployment_env("ta-wine")


@pytest.fixture
def linux_server(tmp_path: Path, shared_env: dict[str, str]) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "server" / "data", shared_env)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.redis
def test_an_agent_on_windows_feeds_a_server_on_linux_to_a_buy_and_a_sell(
    windows: Windows, linux_server: ServerProcess, shared_env: dict[str, str], tmp_path: Path
) -> None:
    agent = windows.start(
        "agent", "-m", "trade_analysis", "agent", "--data-dir", windows_path(tmp_path / "agent"),
        **shared_env,
    )  # fmt: skip
    chart = windows.chart("WAGT 120.00 - Robinhood", trend="up", interval_ms=300)
    with httpx.Client(base_url=linux_server.url, headers=AUTH, timeout=30) as client:
        window = listed_window(client, chart.hwnd, agent)
        assert window["process"] == "python.exe", window
        started = client.post("/start_multi", json={"hwnd": chart.hwnd, "interval": 0.5})
        assert started.status_code == 200, started.text
        rise_then_fall(client, chart, "WAGT")
        (worker,) = [w for w in client.get("/workers").json() if w["hwnd"] == chart.hwnd]
        assert worker["status"]["capture_method"] == "bitblt", worker["status"]
    assert agent.process.poll() is None, agent.output()


# -- serve on Windows --------------------------------------------------------------------------

SW_MINIMIZE, SW_RESTORE = 6, 9
SHOW_WINDOW = """
import ctypes, sys
user32 = ctypes.WinDLL("user32")
user32.ShowWindow.argtypes = [ctypes.c_void_p, ctypes.c_int]
user32.ShowWindow(int(sys.argv[1]), int(sys.argv[2]))
"""


def show_window(windows: Windows, hwnd: int, command: int) -> None:
    windows.run(SHOW_WINDOW, str(hwnd), str(command))


def worker_of(client: httpx.Client, hwnd: int) -> dict[str, Any]:
    (worker,) = [w for w in client.get("/workers").json() if w["hwnd"] == hwnd]
    return dict(worker)


def bot_state(client: httpx.Client, bot: str, state: str, what: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        found = [b for b in client.get("/api/v1/bots").json() if b["bot"] == bot]
        return found[0] if found and found[0]["state"] == state else None

    answer: dict[str, Any] = poll(find, bool, 60, what, 0.5)
    return answer


def test_serve_on_windows_answers_the_seed_calls_and_trades_a_win32_chart(
    windows: Windows, tmp_path: Path
) -> None:
    port = free_port()
    server = windows.start(
        "serve", "-m", "trade_analysis", "serve", "--port", str(port),
        "--data-dir", windows_path(tmp_path / "data"),
        BACKEND_API_KEY=TEST_KEY, RESUME_LOOK_SECONDS="1",
    )  # fmt: skip
    chart = windows.chart("WSRV 80.00 - Robinhood", trend="up", interval_ms=300)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH, timeout=30) as client:

        def pong() -> bool:
            if server.process.poll() is not None:
                raise AssertionError(f"serve exited:\n{server.output()}")
            try:
                return client.get("/ping").status_code == 200
            except httpx.TransportError:
                return False

        poll(pong, bool, 240, "serve on Windows to answer /ping", 0.5)
        window = listed_window(client, chart.hwnd, server)
        assert window["process"] == "python.exe", window
        assert window["title"].startswith("WSRV "), window
        started = client.post("/start", params={"hwnd": chart.hwnd, "interval": 0.5})
        assert started.status_code == 200, started.text
        rise_then_fall(client, chart, "WSRV")
        status = client.get("/status").json()
        assert status["capture_method"] == "bitblt", status
        bot = worker_of(client, chart.hwnd)["bot"]["bot"]

        # Minimised: the worker finds its window gone and its bot waits; restored, it
        # resumes on the same window. Closed, then opened again: it resumes on the new one.
        show_window(windows, chart.hwnd, SW_MINIMIZE)
        bot_state(client, bot, "waiting_for_window", "the bot of a minimised window to wait")
        show_window(windows, chart.hwnd, SW_RESTORE)
        assert bot_state(client, bot, "capturing", "the bot to resume")["hwnd"] == chart.hwnd
        chart.wine.stop()
        bot_state(client, bot, "waiting_for_window", "the bot of a closed window to wait")
        again = windows.chart("WSRV 70.00 - Robinhood", trend="up", interval_ms=300)
        assert bot_state(client, bot, "capturing", "the bot to resume")["hwnd"] == again.hwnd
    assert (tmp_path / "data" / "trade_analysis.db").is_file()  # SQLite, the default
