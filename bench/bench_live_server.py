"""Live stream of a real server process (`trade-analysis serve`, SQLite, `memory://`). By hand:

    .venv/bin/python bench/bench_live_server.py [--seconds 10] [--clients 200] [--rate 20]

The event load is the same in every phase: `--rate` ingests a second (20 bots, one
`up`/`down` flip each per second, like 20 workers changing every second), each making a
`trade` and a `summary` event. Real WebSocket clients (`websockets`) in this process.

1. CPU: the server's CPU time (psutil, user + system, of the server pid) over the same
   load with 1 typed-stream client and with N; prints the ratio and the
   marginal cost per client (target <= 4x). The load's own cost (HTTP, SQL) is measured
   with 0 clients.
2. Latency: N clients of which 10% are stalled (handshake done, never read, tiny receive
   buffer): delivery latency of `trade` events to the healthy clients, from the moment
   the ingest request was sent (its `ts`) to the moment a client has the event; p50/p99
   (target p99 < 100 ms), stalled clients disconnected, server RSS at start and end.

3. Snapshot stream (`/ws`): bytes per client per second with 0 workers, against what the
   original sent (every worker's full screenshot, base64 PNG, every second): estimated
   for 20 workers from the base64 size of a 640x400 chart PNG measured here.

`--also KEY=VALUE` runs phases 1 and 2 again on a server given those settings, in the same
run (e.g. `--also SUMMARY_INTERVAL_SECONDS=0.1`, the summary rate before it was bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from _support import free_port, percentile, stop, verdict, wait_for_ping
from websockets.asyncio.client import ClientConnection, connect

from trade_analysis.cli import serve_command

KEY = "bench-key-51c0ffee"
AUTH = {"Authorization": f"Bearer {KEY}"}
BOTS = 20
TARGET_CPU_RATIO = 4.0
TARGET_P99_MS = 100.0


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        return float(self.ps.memory_info().rss) / 1e6


def start_server(data_dir: Path, settings: dict[str, str] | None = None) -> Server:
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / "server.log").open("wb")
    process = subprocess.Popen(
        serve_command(port, data_dir, "--log-level", "warning"),
        env={
            **os.environ,
            "BACKEND_API_KEY": KEY,
            "DATABASE_URL": "",
            "BUS_URL": "memory://",
            # The service's own cap on sockets (64 by default) is below the bench's load.
            "MAX_WEBSOCKET_CLIENTS": "1000",
            **(settings or {}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_ping(url, process)
    return Server(url, port, process)


# -- load and clients ---------------------------------------------------------------------


async def load(url: str, seconds: float, rate: float) -> int:
    """`rate` ingests a second for `seconds`, bots taking turns; each flips its trend."""
    sent = 0
    trends = dict.fromkeys(range(BOTS), "down")
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as http:
        start = time.monotonic()
        while (now := time.monotonic()) - start < seconds:
            bot = sent % BOTS
            trends[bot] = "up" if trends[bot] == "down" else "down"
            response = await http.post(
                "/ingest",
                data={
                    "bot": f"bench-{bot}",
                    "ticker": f"B{bot:02d}",
                    "price": f"{100 + sent % 50}.25",
                    "trend": trends[bot],
                    "ts": datetime.now(UTC).isoformat(),
                },
            )
            response.raise_for_status()
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
            del now
    return sent


async def load_elsewhere(server: Server, seconds: float, rate: float) -> int:
    """`load` from a process of its own: the readers here must not slow the ingests down
    (with 200 clients on a busy machine they did, and fewer events meant less to fan out)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--load-only",
        server.url,
        str(seconds),
        str(rate),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load process failed ({process.returncode})")
    return int(output.decode().split()[-1])


def load_only(url: str, seconds: float, rate: float) -> None:
    """The `--load-only URL SECONDS RATE` process: run the load, print how many ingests."""
    print(asyncio.run(load(url, seconds, rate)))


@dataclass
class Reader:
    ws: ClientConnection
    parse: bool
    messages: int = 0
    received: int = 0  # bytes of text, after the connection's decompression
    latencies: list[float] = field(default_factory=list)

    async def run(self) -> None:
        async for message in self.ws:
            self.messages += 1
            self.received += len(message)
            if self.parse:
                received = time.time()
                event = json.loads(message)
                if event["type"] == "trade":
                    sent = datetime.fromisoformat(event["data"]["ts"].replace("Z", "+00:00"))
                    self.latencies.append(received - sent.timestamp())


async def typed_clients(server: Server, count: int, parse: bool) -> list[Reader]:
    url = server.url.replace("http://", "ws://") + f"/api/v1/ws?token={KEY}"
    readers = []
    for start in range(0, count, 20):
        batch = [
            connect(url, open_timeout=30, max_queue=None)
            for _ in range(start, min(count, start + 20))
        ]
        for ws in await asyncio.gather(*batch):
            await ws.recv()  # hello
            readers.append(Reader(ws, parse))
    return readers


def stalled_socket(server: Server) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/ws?token={KEY} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def stats(server: Server) -> dict[str, int]:
    async with httpx.AsyncClient(headers=AUTH) as http:
        result: dict[str, int] = (await http.get(server.url + "/api/v1/live/stats")).json()
        return result


async def under_load(
    server: Server, readers: list[Reader], seconds: float, rate: float
) -> tuple[float, int]:
    """Server CPU seconds spent while the load runs and the readers read."""
    tasks = [asyncio.create_task(r.run()) for r in readers]
    await asyncio.sleep(0.5)
    before = server.cpu()
    sent = await load_elsewhere(server, seconds, rate)
    await asyncio.sleep(0.5)  # let the last events drain
    spent = server.cpu() - before
    for reader in readers:
        await reader.ws.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return spent, sent


# -- phases ---------------------------------------------------------------------------------


async def cpu_phase(server: Server, clients: int, seconds: float, rate: float) -> float:
    print(f"\n1. server CPU, {rate:g} ingests/s (trade + summary each) for {seconds:g} s")
    results: dict[int, float] = {}
    for count in (0, 1, clients):
        readers = await typed_clients(server, count, parse=False)
        spent, sent = await under_load(server, readers, seconds, rate)
        got = sum(r.messages for r in readers)
        results[count] = spent
        print(f"   {count:>4} clients: {spent:6.2f} s CPU  ({sent} ingests, {got} messages read)")
        if count == 1:
            # What each client is sent a second: a client's fan-out cost follows it.
            print(f"         a client is sent {readers[0].received / seconds / 1000:.1f} KB/s")
    ratio = results[clients] / results[1]
    per_client = (results[clients] - results[1]) / max(1, clients - 1) / seconds * 1000
    print(
        f"   CPU with {clients} clients / with 1 client: {ratio:.2f}x (target <= "
        f"{TARGET_CPU_RATIO:g}x) {verdict(ratio <= TARGET_CPU_RATIO)}"
    )
    print(
        f"   the load alone (0 clients): {results[0]:.2f} s; marginal cost per client: "
        f"{per_client:.2f} ms CPU per second of stream"
    )
    return ratio


async def latency_phase(server: Server, clients: int, seconds: float, rate: float) -> float:
    stalled_count = clients // 10
    print(f"\n2. latency: {clients - stalled_count} healthy + {stalled_count} stalled clients")
    rss_start = server.rss_mb()
    stalled = [stalled_socket(server) for _ in range(stalled_count)]
    readers = await typed_clients(server, clients - stalled_count, parse=True)
    connected = await stats(server)
    rss_connected = server.rss_mb()
    samples: list[float] = []
    tasks = [asyncio.create_task(r.run()) for r in readers]
    rss_trace = []
    loading = asyncio.create_task(load_elsewhere(server, seconds, rate))
    while not loading.done():
        await asyncio.sleep(1)
        rss_trace.append(server.rss_mb())
    sent = loading.result()
    await asyncio.sleep(0.5)
    after = await stats(server)
    for reader in readers:
        samples += reader.latencies
        await reader.ws.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for sock in stalled:
        sock.close()
    expected = sent * len(readers)
    p50, p99 = percentile(samples, 0.5) * 1000, percentile(samples, 0.99) * 1000
    print(f"   trades delivered to healthy clients: {len(samples)} of {expected}")
    print(
        f"   latency from ingest sent to client: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(samples) * 1000:.1f} ms (target p99 < {TARGET_P99_MS:g} ms) "
        f"{verdict(p99 < TARGET_P99_MS)}"
    )
    print(
        f"   clients: {connected['clients']} connected, {after['clients']} at the end "
        f"({connected['clients'] - after['clients']} stalled ones disconnected)"
    )
    print(
        f"   server RSS: {rss_start:.1f} MB before clients, {rss_connected:.1f} MB connected, "
        f"per second under load {', '.join(f'{r:.1f}' for r in rss_trace)} MB"
    )
    return p99


def chart_png_b64() -> int:
    """Base64 length of a 640x400 chart screenshot PNG (grid, line, text-like noise)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(3)
    image = np.full((400, 640, 3), 255, np.uint8)
    image[:, ::40] = (230, 230, 230)
    image[::40, :] = (230, 230, 230)
    walk = np.cumsum(rng.normal(0, 3, 640))
    walk = (walk - walk.min()) / (np.ptp(walk) or 1) * 300 + 50
    points = np.stack([np.arange(640), 400 - walk], axis=1).astype(np.int32)
    cv2.polylines(image, [points], False, (5, 200, 0), 2, cv2.LINE_AA)
    for row in range(8):  # axis labels, a toolbar: some high-frequency detail
        cv2.putText(
            image,
            f"{180 + row * 1.25:.2f}",
            (580, 40 + row * 45),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (90, 90, 90),
            1,
            cv2.LINE_AA,
        )
    cv2.putText(
        image,
        "AAPL  1D 5D 1M 6M YTD 1Y 5Y MAX",
        (10, 20),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (40, 40, 40),
        1,
        cv2.LINE_AA,
    )
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return len(base64.b64encode(encoded.tobytes()))


async def snapshot_phase(server: Server, seconds: float) -> None:
    print(f"\n3. snapshot stream /ws, 0 workers, {seconds:g} s")
    url = server.url.replace("http://", "ws://") + f"/ws?token={KEY}"
    async with connect(url) as ws:
        first = await ws.recv()
        received = 0
        count = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            try:
                message = await asyncio.wait_for(ws.recv(), seconds)
            except TimeoutError:
                break
            received += len(message)
            count += 1
        elapsed = time.monotonic() - start
    ours = received / elapsed
    snapshot = json.loads(first)
    screenshot = chart_png_b64()
    worker_status = 400  # a worker's status + last_result without its screenshot, ~bytes
    original = ours + 20 * (screenshot + worker_status) + screenshot  # + legacy screenshot_b64
    ours_20 = ours + 20 * worker_status  # unchanged workers: no thumbnails re-sent
    print(
        f"   measured: {ours:.0f} B/client/s ({count} snapshots, {len(first)} B first; "
        f"keys {sorted(snapshot)})"
    )
    print(
        f"   a 640x400 chart PNG is {screenshot} B in base64; the original re-sent 20 of them "
        f"(+ the legacy one) every second: ~{original:.0f} B/client/s"
    )
    print(
        f"   ours with 20 unchanged workers (status only, ~{worker_status} B each): "
        f"~{ours_20:.0f} B/client/s"
    )
    print(
        f"   ratio ours/original: 0 workers {ours / original:.4f}, 20 unchanged workers "
        f"{ours_20 / original:.4f} {verdict(ours_20 / original < 0.1)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument(
        "--also",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="then phases 1 and 2 again on a server with these settings (repeatable), "
        "e.g. SUMMARY_INTERVAL_SECONDS=0.1 for the summary rate before it was bounded",
    )
    args = parser.parse_args()
    also = dict(item.split("=", 1) for item in args.also)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        figures = {}
        for label, settings in [("product", {}), ("also", also)][: 2 if also else 1]:
            print(f"\n== {label}: {settings or 'default settings'}")
            server = start_server(Path(tmp) / label / "data", settings)
            try:
                ratio = await cpu_phase(server, args.clients, args.seconds, args.rate)
                p99 = await latency_phase(server, args.clients, args.seconds * 2, args.rate)
                figures[label] = (ratio, p99)
                if label == "product":
                    await snapshot_phase(server, 5)
            finally:
                stop(server.process)
    print()
    for label, (ratio, p99) in figures.items():
        print(
            f"{label:>8}: CPU {args.clients} clients / 1 client {ratio:.2f}x, "
            f"trade p99 {p99:.1f} ms"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load-only"]:
        load_only(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        asyncio.run(main())
