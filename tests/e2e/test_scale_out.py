"""Several processes on one bus: two API processes (`trade-analysis serve`) on Redis and
PostgreSQL, and a capture agent (`trade-analysis agent`) on an Xvfb desktop."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import AUTH, TEST_KEY, _reset_postgres
from tests.server import ServerProcess
from tests.support.databases import POSTGRES_URL
from tests.support.polling import poll
from tests.support.windows import WindowLauncher
from tests.support.xvfb import missing
from trade_analysis.config import normalise_database_url

pytestmark = [pytest.mark.redis, pytest.mark.timeout(180)]

# Redis db 5 keeps keys apart from other tests; note that pub/sub channels are global
# to the server whatever the db number.
BUS_URL = "redis://127.0.0.1:6379/5"
# The PostgreSQL the scale-out tests use when TEST_DATABASE_URL is unset.


def _redis_problem() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                return "Redis on 127.0.0.1:6379 did not answer PING"
    except OSError as exc:
        return f"Redis not reachable on 127.0.0.1:6379: {exc}"
    return None


def _postgres_problem(url: str) -> str | None:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL not reachable at {url}: {type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return None


@pytest.fixture
def shared_env() -> dict[str, str]:
    return deployment_env("ta-test")


def deployment_env(channel_prefix: str) -> dict[str, str]:
    """What every process of the deployment shares: the key, the bus, an empty database."""
    database = os.environ.get("TEST_DATABASE_URL") or POSTGRES_URL
    for problem in (_redis_problem(), _postgres_problem(database)):
        if problem is not None:
            missing(problem)
    _reset_postgres(database)
    return {
        "BACKEND_API_KEY": TEST_KEY,
        "DATABASE_URL": database,
        "BUS_URL": BUS_URL,
        # Its own channels: nothing another deployment on this Redis publishes reaches it.
        "BUS_CHANNEL_PREFIX": f"{channel_prefix}-{uuid.uuid4().hex[:12]}",
        "CAPTURE_MODE": "agent",
    }


@pytest.fixture
def api_pair(tmp_path: Path, shared_env: dict[str, str]) -> Iterator[tuple[ServerProcess, ...]]:
    """Two API processes, as `serve --workers 2` would run them, on their own ports."""
    first = ServerProcess(tmp_path / "a" / "data", shared_env)
    second = ServerProcess(tmp_path / "b" / "data", shared_env)
    try:
        # One at a time: each migrates the database as it starts.
        yield first.start(), second.start()
    finally:
        first.stop()
        second.stop()


class AgentProcess:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir.parent / "agent.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "trade_analysis", "agent", "--data-dir", str(data_dir)],
                env={**os.environ, **env},
                stdout=log,
                stderr=log,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def agent(tmp_path: Path, shared_env: dict[str, str], xvfb_display: str) -> Iterator[AgentProcess]:
    process = AgentProcess(tmp_path / "agent" / "data", {**shared_env, "DISPLAY": xvfb_display})
    try:
        yield process
    finally:
        process.stop()


def ws_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + f"/api/v1/ws?token={TEST_KEY}"


async def typed_stream(server: ServerProcess) -> ClientConnection:
    ws = await connect(ws_url(server), open_timeout=10)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello", hello
    return ws


async def trades_until(
    ws: ClientConnection, wanted: Callable[[list[dict[str, Any]]], bool], within: float
) -> list[dict[str, Any]]:
    """`trade` events' data as they arrive, until `wanted(trades)` holds."""
    trades: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not wanted(trades):
            message = json.loads(await ws.recv())
            if message["type"] == "trade":
                trades.append(message["data"])
    return trades


def http(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=AUTH, timeout=20)


# -- two API processes ------------------------------------------------------------------------


def test_clients_of_either_api_process_get_every_trade_made_through_either(
    api_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = api_pair
    tickers = {server.port: "X" + uuid.uuid4().hex[:5].upper() for server in api_pair}

    async def scenario() -> None:
        on_first, on_second = await typed_stream(first), await typed_stream(second)
        try:
            made: set[int] = set()
            async with httpx.AsyncClient(headers=AUTH, timeout=20) as client:
                for server in api_pair:
                    response = await client.post(
                        server.url + "/ingest",
                        data={"ticker": tickers[server.port], "price": "12.5", "trend": "up"},
                    )
                    assert response.status_code == 200, response.text
                    made.add(response.json()["trade"]["id"])
                manual = await client.post(
                    second.url + "/manual_trade",
                    json={"ticker": tickers[first.port], "price": "13", "direction": "sell"},
                )
                assert manual.status_code == 200, manual.text
                made.add(manual.json()["trade"]["id"])
            for ws in (on_first, on_second):
                trades = await trades_until(ws, lambda got: {t["id"] for t in got} >= made, 10)
                assert {t["id"] for t in trades} == made
                assert {t["ticker"] for t in trades} == set(tickers.values())
        finally:
            await on_first.close()
            await on_second.close()

    asyncio.run(scenario())


def test_capture_routes_say_to_run_the_agent_when_none_is_connected(
    api_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    first, _ = api_pair
    with http(first) as client:
        for method, path, body in [
            ("GET", "/windows", None),
            ("GET", "/workers", None),
            ("POST", "/start_multi", {"hwnd": 1234}),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert "trade-analysis agent" in response.json()["detail"]
        assert client.get("/trades").status_code == 200  # the rest of the service works

    async def hello_without_agent() -> dict[str, Any]:
        async with connect(ws_url(first), open_timeout=10) as ws:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return message

    # The live stream does not depend on the agent: its hello says capture is unavailable.
    hello = asyncio.run(hello_without_agent())
    assert hello["type"] == "hello"
    assert hello["data"]["workers"] == []
    assert hello["data"]["capture"]["available"] is False
    assert "trade-analysis agent" in hello["data"]["capture"]["detail"]


# -- an agent on the desktop, controlled through either API process ------------------------


@pytest.mark.x11
def test_an_agent_captures_windows_controlled_through_either_api_process(
    api_pair: tuple[ServerProcess, ServerProcess],
    agent: AgentProcess,
    chart_windows: WindowLauncher,
) -> None:
    first, second = api_pair
    window = chart_windows.chart("AAPL 175.23 - MyApp", trend="up", x=10, y=10)
    with http(first) as via_a, http(second) as via_b:

        def listed() -> list[dict[str, Any]] | None:
            if agent.process.poll() is not None:
                raise AssertionError(f"the agent exited:\n{agent.output()}")
            response = via_a.get("/windows")
            return response.json() if response.status_code == 200 else None

        windows = poll(listed, bool, 20, "the agent to answer /windows through A", 0.1)
        assert window.hwnd in {w["hwnd"] for w in windows}, windows

        async def scenario() -> None:
            ws = await typed_stream(second)
            try:
                started = via_b.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
                assert started.status_code == 200, started.text
                assert started.json()["is_running"] is True

                def aapl_up() -> dict[str, Any] | None:
                    for worker in via_a.get("/workers").json():
                        result = worker["last_result"] or {}
                        if worker["hwnd"] == window.hwnd and result.get("ticker") == "AAPL":
                            return dict(worker)
                    return None

                worker = await asyncio.to_thread(
                    poll, aapl_up, bool, 15, "AAPL in /workers via A", 0.1
                )
                assert worker["last_result"]["trend"] == "up", worker
                trades = await trades_until(ws, lambda got: bool(got), 15)
                assert (trades[0]["ticker"], trades[0]["direction"]) == ("AAPL", "buy")
                assert trades[0]["price"] == 175.23
            finally:
                await ws.close()

        asyncio.run(scenario())

        stopped = via_a.post("/stop_multi", json={"hwnd": window.hwnd})
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["is_running"] is False
        poll(
            lambda: all(w["hwnd"] != window.hwnd for w in via_b.get("/workers").json()),
            bool,
            20,
            "the stopped worker to leave /workers via B",
            0.1,
        )
        unknown = via_b.post("/stop_multi", json={"hwnd": window.hwnd + 999_999})
        assert unknown.status_code == 404, unknown.text
        assert "no capture worker" in unknown.json()["detail"]


@pytest.mark.x11
def test_an_api_process_started_after_the_agent_controls_capture_at_once(
    tmp_path: Path,
    shared_env: dict[str, str],
    agent: AgentProcess,
    chart_windows: WindowLauncher,
) -> None:
    """A process that has not yet heard the agent's heartbeat asks for its state on the
    bus, so its first capture request is answered instead of a 503."""
    window = chart_windows.chart("MSFT 402.10 - MyApp", trend="up", x=10, y=10)
    first = ServerProcess(tmp_path / "a" / "data", shared_env).start()
    late = ServerProcess(tmp_path / "late" / "data", shared_env)
    try:
        with http(first) as via_first:

            def listed() -> list[dict[str, Any]] | None:
                if agent.process.poll() is not None:
                    raise AssertionError(f"the agent exited:\n{agent.output()}")
                response = via_first.get("/windows")
                return response.json() if response.status_code == 200 else None

            poll(listed, bool, 20, "the agent to answer /windows", 0.1)
        late.start()  # the agent has been heartbeating since before this process began
        with http(late) as via_late:
            started = via_late.post("/start_multi", json={"hwnd": window.hwnd, "interval": 0.5})
            assert started.status_code == 200, started.text
            assert via_late.post("/stop_multi", json={"hwnd": window.hwnd}).status_code == 200
    finally:
        late.stop()
        first.stop()


# -- `serve --workers 2` -------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_with_two_workers_starts_on_a_fresh_database(
    tmp_path: Path, shared_env: dict[str, str]
) -> None:
    """Both workers migrate the same empty database as they start; neither may fail.

    A race between them is timing-dependent, so the start is tried a few times.
    """
    for attempt in range(3):
        _reset_postgres(shared_env["DATABASE_URL"])
        server = ServerProcess(tmp_path / f"run{attempt}" / "data", shared_env, ["--workers", "2"])
        try:
            server.start()
            # A worker that failed its startup takes the whole service down shortly after.
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                assert server.process is not None
                assert server.process.poll() is None, server.log.read_text()[-3000:]
                assert httpx.get(server.url + "/trades", headers=AUTH).status_code == 200
                time.sleep(0.1)
            assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]
        finally:
            server.stop()
