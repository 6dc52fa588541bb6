"""The live streams of a real server process (`trade-analysis serve`, SQLite, `memory://`),
through a real WebSocket client (`websockets`) and real HTTP (`httpx`)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from trade_analysis.domain import parse_wire_time

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

SEED_KEYS = {"timestamp", "status", "workers", "trade_summary", "screenshot_b64"}
POLICY_VIOLATION = 1008


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module, as users start it; each test trades its own tickers."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    process = ServerProcess(
        data_dir,
        # DATABASE_URL empty: the embedded SQLite default, whatever the outer environment says.
        {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": "", "BUS_URL": "memory://"},
    )
    process.start()
    yield process
    process.stop()


def ws_url(server: ServerProcess, path: str, token: str | None = TEST_KEY) -> str:
    url = server.url.replace("http://", "ws://") + path
    return f"{url}?token={token}" if token is not None else url


@asynccontextmanager
async def typed_stream(
    server: ServerProcess, **kwargs: Any
) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    """A typed-stream client, connected and past its `hello` (whose data it yields)."""
    async with connect(ws_url(server, "/api/v1/ws"), open_timeout=10, **kwargs) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello", hello
        yield ws, hello["data"]


async def next_event(ws: ClientConnection, kind: str, within: float = 5.0) -> dict[str, Any]:
    """The `data` of the next `kind` event, skipping other types; fails after `within` s."""
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                data: dict[str, Any] = message["data"]
                return data


async def events_for(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Every message that arrives within `seconds`."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return received


def new_ticker() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


async def ingest(http: httpx.AsyncClient, ticker: str, price: str, trend: str) -> dict[str, Any]:
    response = await http.post(
        "/ingest", data={"ticker": ticker, "price": price, "trend": trend, "bot": f"b-{ticker}"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=10) as client:
        yield client


async def close_code(url: str, **kwargs: Any) -> int | None:
    """Connect (the server accepts) and return the code the server closes with."""
    async with connect(url, open_timeout=10, **kwargs) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None, "the server dropped the socket without a close frame"
    return closed.value.rcvd.code


# -- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/ws", "/ws", "/"])
async def test_a_socket_without_the_key_or_with_a_wrong_one_is_closed_with_1008(
    server: ServerProcess, path: str
) -> None:
    assert await close_code(ws_url(server, path, token=None)) == POLICY_VIOLATION
    assert await close_code(ws_url(server, path, token="wrong-key")) == POLICY_VIOLATION
    assert (
        await close_code(
            ws_url(server, path, token=None), additional_headers={"Authorization": "Bearer nope"}
        )
        == POLICY_VIOLATION
    )


@pytest.mark.parametrize("path", ["/api/v1/ws", "/ws", "/"])
async def test_the_key_is_accepted_as_a_token_query_or_as_a_bearer_header(
    server: ServerProcess, path: str
) -> None:
    async with connect(ws_url(server, path), open_timeout=10) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))
    async with connect(
        ws_url(server, path, token=None),
        additional_headers={"Authorization": f"Bearer {TEST_KEY}"},
        open_timeout=10,
    ) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))


# -- the seed snapshot stream ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws", "/"])
async def test_the_seed_snapshot_stream_sends_the_seed_keys_about_once_a_second(
    server: ServerProcess, path: str
) -> None:
    async with connect(ws_url(server, path), open_timeout=10) as ws:
        snapshots = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
    for snapshot in snapshots:
        assert set(snapshot) == SEED_KEYS
        assert snapshot["status"]["is_running"] is False  # the legacy capture's get_status()
        assert isinstance(snapshot["workers"], list)
        assert {"tickers", "total_pnl_all_tickers"} <= set(snapshot["trade_summary"])
    # The first comes on connect, the next at the stream's next tick, then one a second.
    # Read from the server's own timestamps: when a loaded client reads them is no measure.
    built = [parse_wire_time(snapshot["timestamp"]).timestamp() for snapshot in snapshots]
    assert built[1] - built[0] <= 1.5
    assert 0.9 <= built[2] - built[1] < 3.0


# -- the typed stream -----------------------------------------------------------------------


async def test_hello_comes_first_then_trades_from_ingest_and_manual_trade(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    ticker, manual = new_ticker(), new_ticker()
    async with typed_stream(server) as (ws, hello):
        assert {"workers", "summary", "timestamp"} <= set(hello)
        assert hello["workers"] == []
        assert "tickers" in hello["summary"]

        bought = await ingest(http, ticker, "$187.50", "up")
        trade = await next_event(ws, "trade")
        assert (trade["ticker"], trade["price"], trade["direction"]) == (ticker, 187.5, "buy")
        assert trade["id"] == bought["trade"]["id"]
        summary = await next_event(ws, "summary")
        assert summary["tickers"][ticker]["position"] == "long"

        response = await http.post(
            "/manual_trade", json={"ticker": manual, "price": "42.25", "direction": "buy"}
        )
        assert response.status_code == 200, response.text
        trade = await next_event(ws, "trade")
        assert (trade["ticker"], trade["price"], trade["direction"]) == (manual, 42.25, "buy")


async def test_a_price_read_while_long_re_marks_the_position_in_a_summary_and_hello(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    ticker = new_ticker()
    await ingest(http, ticker, "100", "up")
    async with typed_stream(server) as (ws, _hello):
        await ingest(http, ticker, "150", "up")  # no trade: only the mark moves
        async with asyncio.timeout(10):
            while True:
                summary = await next_event(ws, "summary", within=10)
                if summary["tickers"][ticker]["unrealised_pnl"] == 50:
                    break
        held = [p for p in summary["open_positions"] if p["ticker"] == ticker]
        assert held[0]["last_price"] == 150 and held[0]["unrealised_pct"] == 50
        assert summary["unrealised_pnl"] >= 50 and "realised_pnl" in summary
    async with typed_stream(server) as (_ws, hello):
        (held,) = [p for p in hello["summary"]["open_positions"] if p["ticker"] == ticker]
        assert held["unrealised_pnl"] == 50 and held["open_seconds"] >= 0


async def test_hello_of_a_client_that_connects_later_holds_the_trades_so_far(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    ticker = new_ticker()
    await ingest(http, ticker, "10", "up")
    async with typed_stream(server) as (_ws, hello):
        assert hello["summary"]["tickers"][ticker]["position"] == "long"


async def test_a_client_subscribed_to_trades_gets_only_trades(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    ticker = new_ticker()
    async with typed_stream(server) as (only_trades, _), typed_stream(server) as (everything, _):
        await only_trades.send(json.dumps({"type": "subscribe", "data": ["trade"]}))
        # The route answers messages in order: this error proves the subscribe was handled.
        await only_trades.send(json.dumps({"type": "sync"}))
        assert (await next_event(only_trades, "error"))["detail"]

        await ingest(http, ticker, "100", "up")
        await ingest(http, ticker, "101", "down")
        received = [json.loads(await asyncio.wait_for(only_trades.recv(), 10)) for _ in "ab"]
        # The same trades do cause summaries: the client above is spared them.
        await next_event(everything, "summary", within=10)
        assert [(e["type"], e["data"]["ticker"]) for e in received] == [
            ("trade", ticker),
            ("trade", ticker),
        ]
        # Nothing else follows for it, though the other client got the summary by now.
        assert await events_for(only_trades, 0.5) == []


@pytest.mark.parametrize(
    "message",
    [
        "this is not JSON",
        json.dumps({"data": ["trade"]}),
        json.dumps(["subscribe", "trade"]),
        json.dumps({"type": "subscribe", "data": ["trade", "gossip"]}),
        json.dumps({"type": "subscribe", "data": "trade"}),
        json.dumps({"type": "launch_missiles", "data": {}}),
        b"\x00\x01 binary frame",
    ],
    ids=[
        "not-json",
        "no-type",
        "not-an-object",
        "unknown-topic",
        "topics-not-a-list",
        "unknown-type",
        "binary",
    ],
)
async def test_a_malformed_client_message_gets_an_error_event_and_the_stream_goes_on(
    server: ServerProcess, http: httpx.AsyncClient, message: str | bytes
) -> None:
    ticker = new_ticker()
    async with typed_stream(server) as (ws, _):
        await ws.send(message)
        error = await next_event(ws, "error")
        assert isinstance(error["detail"], str) and error["detail"]
        await ingest(http, ticker, "5", "up")
        trade = await next_event(ws, "trade")
        assert trade["ticker"] == ticker
        # The rejected subscribe did not narrow the stream.
        assert (await next_event(ws, "summary"))["tickers"][ticker]["position"] == "long"


# -- fan-out under a stalled client ---------------------------------------------------------


def stalled_socket(server: ServerProcess, path: str) -> socket.socket:
    """A WebSocket handshake over a raw socket that then never reads: a stalled client.

    A tiny receive buffer makes the server's sends back up after a few messages.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path}?token={TEST_KEY} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def live_stats(http: httpx.AsyncClient) -> dict[str, int]:
    response = await http.get("/api/v1/live/stats")
    assert response.status_code == 200, response.text
    stats: dict[str, int] = response.json()
    return stats


@pytest.fixture
def summary_per_trade_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that sends a `summary` after every trade: the most bytes per trade."""
    env = {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": "", "BUS_URL": "memory://"}
    process = ServerProcess(tmp_path / "data", {**env, "SUMMARY_INTERVAL_SECONDS": "0"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def test_a_client_that_stops_reading_never_delays_the_others(
    summary_per_trade_server: ServerProcess,
) -> None:
    # Many tickers make every `summary` tens of KB, so a stalled socket's kernel buffers
    # (megabytes on loopback) fill within a few seconds and the server's sends block.
    server = summary_per_trade_server
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=10) as http:
        await _stalled_clients_are_cut_off(server, http)


async def _stalled_clients_are_cut_off(server: ServerProcess, http: httpx.AsyncClient) -> None:
    prefix = uuid.uuid4().hex[:4].upper()
    for first in range(0, 300, 20):
        await asyncio.gather(
            *(ingest(http, f"S{prefix}{i:03d}", "1", "up") for i in range(first, first + 20))
        )
    baseline = (await live_stats(http))["clients"]
    stalled = [stalled_socket(server, "/api/v1/ws") for _ in range(3)]
    try:
        ticker = new_ticker()
        delays: list[float] = []
        async with typed_stream(server) as (healthy, _):
            assert (await live_stats(http))["clients"] == baseline + 4
            for index in range(400):
                await ingest(http, ticker, f"{100 + index}", "up" if index % 2 == 0 else "down")
                # From the upload's answer: the fan-out's delay, not the upload's own time.
                sent = time.monotonic()
                trade = await next_event(healthy, "trade", within=10.0)
                delays.append(time.monotonic() - sent)
                assert trade["price"] == 100 + index
                if index >= 20 and (await live_stats(http))["clients"] == baseline + 1:
                    break
            # The stalled clients were cut off (they resync through hello if they come
            # back) rather than silently missing trades; the healthy one is still here.
            assert (await live_stats(http))["clients"] == baseline + 1, (
                "stalled clients were never disconnected"
            )
            trade_after = await ingest(
                http, ticker, "1000", "up" if len(delays) % 2 == 0 else "down"
            )
            assert (await next_event(healthy, "trade", 10.0))["id"] == trade_after["trade"]["id"]
        # A fan-out that waited on the stalled sockets would hold trades for the hub's send
        # timeout (2 s) each time; the healthy client's never wait on them at all.
        assert max(delays) < 2.0, f"slowest trade took {max(delays):.2f}s"
    finally:
        for sock in stalled:
            sock.close()


# -- connection churn -------------------------------------------------------------------------


async def test_500_connect_disconnect_cycles_leak_neither_clients_nor_memory(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    assert server.process is not None
    process = psutil.Process(server.process.pid)

    async def cycle(index: int) -> None:
        path = "/ws" if index % 5 == 0 else "/api/v1/ws"
        ws = await connect(ws_url(server, path), open_timeout=10)
        await asyncio.wait_for(ws.recv(), 10)
        if index % 2:
            await ws.close()
        else:  # gone without a closing handshake, as a dropped network would
            ws.transport.abort()
            await ws.wait_closed()

    async def cycles(count: int, parallel: int = 10) -> None:
        for start in range(0, count, parallel):
            await asyncio.gather(*(cycle(start + i) for i in range(parallel)))

    async def back_to(stats: dict[str, int]) -> None:
        deadline = time.monotonic() + 10
        while (now := await live_stats(http)) != stats:
            assert time.monotonic() < deadline, f"clients left behind: {now} vs {stats}"
            await asyncio.sleep(0.1)

    baseline = await live_stats(http)
    await cycles(50)  # warm up caches and allocator arenas
    await back_to(baseline)
    rss_before = process.memory_info().rss
    await cycles(500)
    await back_to(baseline)
    grown = process.memory_info().rss - rss_before
    assert grown < 30 * 1024 * 1024, f"server RSS grew by {grown / 1e6:.1f} MB"
    assert (await http.get("/ping")).status_code == 200


def test_the_stats_route_needs_the_key(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/api/v1/live/stats").status_code == 401
    assert (
        httpx.get(
            server.url + "/api/v1/live/stats", headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 403
    )
