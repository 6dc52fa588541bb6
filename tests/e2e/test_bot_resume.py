"""A bot outlives its window, over HTTP against real servers and real windows on Xvfb.

A window buys; it closes (its bot waits for it); the server stops; a new window
shows the same chart (new window id, new price); a new server starts and, with
no start call, the bot resumes on the new window and its `down` sells what it
bought before the restart. `/bots` lists one bot for that chart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.e2e.test_capture_over_http import poll, workers_by_hwnd
from tests.e2e.test_scale_out import AgentProcess, api_pair, shared_env  # noqa: F401 - fixtures
from tests.server import ServerProcess
from tests.support.windows import WindowLauncher

pytestmark = [pytest.mark.x11]

LOOK_SECONDS = "1"


@pytest.fixture
def serve(
    tmp_path: Path, xvfb_display: str, database_url: str
) -> Iterator[Callable[[], ServerProcess]]:
    """Start a server on the same data and database each call; all stopped after."""
    started: list[ServerProcess] = []
    env = {
        "BACKEND_API_KEY": TEST_KEY,
        "DATABASE_URL": database_url,
        "DISPLAY": xvfb_display,
        "RESUME_LOOK_SECONDS": LOOK_SECONDS,
    }

    def start() -> ServerProcess:
        server = ServerProcess(tmp_path / "data", env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=AUTH, timeout=20)


def bots(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {bot["bot"]: bot for bot in api.get("/api/v1/bots").json()}


def trades(api: httpx.Client) -> list[dict[str, Any]]:
    return list(api.get("/trades").json()["all_trades"])


def test_a_bot_resumes_on_a_new_window_after_a_restart_and_sells_what_it_bought(
    serve: Callable[[], ServerProcess], chart_windows: WindowLauncher
) -> None:
    first = serve()
    window = chart_windows.chart("AAPL 175.23 - MyApp", trend="up")
    with client(first) as api:
        started = api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
        assert started.status_code == 200, started.text
        (bought,) = poll(lambda: trades(api), lambda found: len(found) == 1)
        assert (bought["direction"], bought["price"]) == ("buy", 175.23)
        bot = bought["bot"]
        assert bots(api)[bot]["name"] == "AAPL - MyApp (python)"

        chart_windows.kill(window)
        poll(lambda: bots(api)[bot]["state"], lambda state: state == "waiting_for_window")
        parked = workers_by_hwnd(api)[window.hwnd]
        assert parked["status"]["state"] == "waiting_for_window" and parked["bot"]["bot"] == bot
    first.stop()

    # The same chart in a new window: a new id, a new price, the same title stem. (The X
    # server gives a new client the lowest free id range: another window takes the old.)
    chart_windows.chart("Notes - Editor", trend="flat", x=700)
    reopened = chart_windows.chart("AAPL 181.50 - MyApp", trend="down")
    assert reopened.hwnd != window.hwnd
    second = serve()
    with client(second) as api:
        poll(lambda: workers_by_hwnd(api), lambda workers: reopened.hwnd in workers)
        sold = poll(lambda: trades(api), lambda found: len(found) == 2)[-1]
        assert (sold["bot"], sold["direction"], sold["price"]) == (bot, "sell", 181.5)
        assert sold["profit"] == pytest.approx(6.27)
        (only,) = bots(api).values()
        assert (only["bot"], only["hwnd"], only["state"]) == (bot, reopened.hwnd, "capturing")
        assert only["stem"] == "AAPL - MyApp" and only["interval"] == 0.5


def test_windows_on_one_ticker_with_other_titles_are_other_bots_and_paused_stays_paused(
    serve: Callable[[], ServerProcess], chart_windows: WindowLauncher
) -> None:
    server = serve()
    robinhood = chart_windows.chart("AAPL 175.23 | Robinhood", trend="up", x=10)
    yahoo = chart_windows.chart("AAPL 175.23 - Yahoo Finance", trend="up", x=700)
    with client(server) as api:
        for window in (robinhood, yahoo):
            api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
        workers = poll(
            lambda: workers_by_hwnd(api),
            lambda found: all(found.get(w.hwnd, {}).get("bot") for w in (robinhood, yahoo)),
        )
        keys = {workers[w.hwnd]["bot"]["bot"] for w in (robinhood, yahoo)}
        assert len(keys) == 2 and {bot["ticker"] for bot in bots(api).values()} <= {"AAPL", None}
        paused_bot = workers[yahoo.hwnd]["bot"]["bot"]
        paused = api.post(f"/api/v1/bots/{paused_bot}/pause").json()
        assert paused["state"] == "paused"
        assert yahoo.hwnd not in workers_by_hwnd(api)
        # Its window is still open: several looks later it has not resumed.
        time.sleep(4 * float(LOOK_SECONDS))
        assert yahoo.hwnd not in workers_by_hwnd(api)
    server.stop()

    restarted = serve()
    with client(restarted) as api:
        poll(lambda: workers_by_hwnd(api), lambda found: robinhood.hwnd in found)
        time.sleep(3 * float(LOOK_SECONDS))
        assert yahoo.hwnd not in workers_by_hwnd(api)
        assert bots(api)[paused_bot]["state"] == "paused"
        # Moving a bot onto a window another running bot captures is refused.
        running_bot = workers_by_hwnd(api)[robinhood.hwnd]["bot"]["bot"]
        taken = api.put(f"/api/v1/bots/{paused_bot}", json={"hwnd": robinhood.hwnd})
        assert taken.status_code == 409 and running_bot in taken.json()["detail"]
        resumed = api.post(f"/api/v1/bots/{paused_bot}/resume").json()
        assert (resumed["state"], resumed["hwnd"]) == ("capturing", yahoo.hwnd)
        assert workers_by_hwnd(api)[yahoo.hwnd]["bot"]["bot"] == paused_bot


# -- the same with capture in `trade-analysis agent` -----------------------------------------


def test_a_bot_resumes_in_a_restarted_agent(
    api_pair: tuple[ServerProcess, ServerProcess],  # noqa: F811 - the fixture imported above
    shared_env: dict[str, str],  # noqa: F811
    xvfb_display: str,
    tmp_path: Path,
    chart_windows: WindowLauncher,
) -> None:
    server, _ = api_pair
    env = {**shared_env, "DISPLAY": xvfb_display, "RESUME_LOOK_SECONDS": LOOK_SECONDS}
    window = chart_windows.chart("MSFT 410.00 - MyApp", trend="up")
    agent = AgentProcess(tmp_path / "agent" / "data", env)
    try:
        with client(server) as api:
            poll(
                lambda: api.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5}),
                lambda response: response.status_code == 200,
            )
            (bought,) = poll(lambda: trades(api), lambda found: len(found) == 1)
        agent.stop()
        chart_windows.kill(window)
        chart_windows.chart("Notes - Editor", trend="flat", x=700)
        reopened = chart_windows.chart("MSFT 420.00 - MyApp", trend="down")
        agent = AgentProcess(tmp_path / "agent" / "data", env)
        with client(server) as api:
            sold = poll(lambda: trades(api), lambda found: len(found) == 2, timeout=30)[-1]
            assert (sold["bot"], sold["direction"], sold["price"]) == (bought["bot"], "sell", 420)
            listed = bots(api)
            assert len(listed) == 1, listed
            (only,) = listed.values()
            assert (only["hwnd"], only["state"]) == (reopened.hwnd, "capturing")
    finally:
        agent.stop()
