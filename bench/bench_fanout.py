"""Fan-out benchmark for the live hub (in-process, `memory://` bus). Run by hand:

    .venv/bin/python bench/bench_fanout.py [--ticks 200] [--duration 10]

1. CPU: the same event stream (20 workers changing every tick: a `frame`
   with a ~6 KB JPEG thumbnail and a `worker` status each, a `summary` and a
   `trade`) fanned out to 1 client and to 200 fast in-memory clients, CPU
   time by `time.process_time`. Also the cost had each client been sent a
   freshly encoded copy (what encode-once saves), and the split into a fixed
   per-event cost and a per-client cost.
2. Latency: 200 clients, 10% of them stalled (their send never returns; a
   kicked stalled client "reconnects" as a new stalled one, so the 10% hold
   for the whole run), events at 10 ticks a second in real time: p50/p99/max
   delivery latency of `trade` events to the healthy clients, kicks, and the
   resident memory over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import math
import os
import time
from typing import Any

from trade_analysis.live import Event, EventType, Hub, MemoryBus

WORKERS = 20
THUMBNAIL = base64.b64encode(os.urandom(4500)).decode()  # ~6 KB like a small JPEG


def tick_events(tick: int) -> list[Event]:
    events = []
    for hwnd in range(WORKERS):
        events.append(
            Event(
                EventType.FRAME,
                {
                    "hwnd": hwnd,
                    "captured_at": f"2026-01-01T00:00:{tick % 60:02d}Z",
                    "jpeg": THUMBNAIL,
                },
            )
        )
        events.append(
            Event(
                EventType.WORKER,
                {
                    "hwnd": hwnd,
                    "status": "running",
                    "last_result": {"ticker": "AAPL", "tick": tick},
                },
            )
        )
    events.append(Event(EventType.SUMMARY, {"open": 3, "closed": tick, "pnl": "12.34"}))
    events.append(Event(EventType.TRADE, {"id": tick, "bot_id": 1, "side": "buy", "price": "1.5"}))
    return events


class CountingClient:
    """A fast client: counts what it was sent, wakes the bench when all arrived."""

    def __init__(self, shared: dict[str, Any]) -> None:
        self.shared = shared

    async def send_text(self, data: str, /) -> None:
        shared = self.shared
        shared["received"] += 1
        if shared["received"] >= shared["target"]:
            shared["done"].set()

    async def close(self, code: int, reason: str, /) -> None:
        return None


async def cpu_run(n_clients: int, ticks: int) -> tuple[float, int]:
    """CPU seconds to publish `ticks` ticks and deliver them to every client."""
    async with MemoryBus() as bus, Hub(bus, max_pending=256) as hub:
        shared: dict[str, Any] = {"received": 0, "target": 0, "done": asyncio.Event()}
        for _ in range(n_clients):
            await hub.add_client(CountingClient(shared))
        batches = [tick_events(t) for t in range(ticks)]
        gc.collect()
        start = time.process_time()
        for events in batches:
            shared["target"] += len(events) * n_clients
            shared["done"].clear()
            for event in events:
                await hub.publish(event)
            await shared["done"].wait()
        elapsed = time.process_time() - start
        return elapsed, sum(len(b) for b in batches)


def encode_per_client_cost(n_clients: int, ticks: int) -> float:
    """CPU seconds spent only on encoding if every client got its own json.dumps."""
    batches = [tick_events(t) for t in range(ticks)]
    start = time.process_time()
    for events in batches:
        for event in events:
            for _ in range(n_clients):
                event.to_json()
    return time.process_time() - start


class StalledClient:
    def __init__(self) -> None:
        self.closed = asyncio.Event()

    async def send_text(self, data: str, /) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str, /) -> None:
        self.closed.set()


class LatencyHistogram:
    """Delivery latencies in 0.1 ms buckets: constant memory, so RSS shows the hub alone."""

    BUCKET_S = 0.0001
    BUCKETS = 50_000  # up to 5 s; anything later lands in the last bucket

    def __init__(self) -> None:
        self.counts = [0] * self.BUCKETS
        self.count = 0
        self.worst = 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(int(seconds / self.BUCKET_S), self.BUCKETS - 1)] += 1
        self.count += 1
        self.worst = max(self.worst, seconds)

    def quantile(self, share: float) -> float:
        wanted = max(1, math.ceil(share * self.count))
        seen = 0
        for bucket, count in enumerate(self.counts):
            seen += count
            if seen >= wanted:
                return (bucket + 1) * self.BUCKET_S
        return self.worst


class LatencyClient:
    def __init__(self, published: dict[int, float], latencies: LatencyHistogram) -> None:
        self.published = published
        self.latencies = latencies

    async def send_text(self, data: str, /) -> None:
        if data.startswith('{"type":"trade"'):
            now = time.perf_counter()
            trade_id = json.loads(data)["data"]["id"]
            self.latencies.add(now - self.published[trade_id])

    async def close(self, code: int, reason: str, /) -> None:
        return None


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def latency_run(
    n_clients: int, stalled_share: float, duration: float, rate: float
) -> dict[str, Any]:
    published: dict[int, float] = {}
    latencies = LatencyHistogram()
    n_stalled = round(n_clients * stalled_share)
    memory: list[float] = []
    async with MemoryBus() as bus, Hub(bus, max_pending=256, send_timeout=2.0) as hub:
        for _ in range(n_clients - n_stalled):
            await hub.add_client(LatencyClient(published, latencies))
        reconnects: set[asyncio.Task[None]] = set()

        async def stalled_forever() -> None:
            # A stalled client; when the hub drops it, it "reconnects" stalled again.
            while True:
                client = StalledClient()
                handle = await hub.add_client(client)
                await handle.wait_closed()
                await hub.remove_client(handle)

        for _ in range(n_stalled):
            reconnects.add(asyncio.create_task(stalled_forever()))

        tick = 0
        start = time.perf_counter()
        next_report = start
        while time.perf_counter() - start < duration:
            tick_start = time.perf_counter()
            for event in tick_events(tick):
                if event.type is EventType.TRADE:
                    published[tick] = time.perf_counter()
                await hub.publish(event)
            tick += 1
            if tick_start >= next_report:
                memory.append(rss_mib())
                next_report += max(duration / 5, 1.0)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick_start)))
        await asyncio.sleep(0.5)  # let the last trades arrive before reading the numbers
        memory.append(rss_mib())
        for task in reconnects:
            task.cancel()
        await asyncio.wait(reconnects)
        kicked = hub.stats.disconnected_slow
    expected = tick * (n_clients - n_stalled)
    return {
        "ticks": tick,
        "trades_expected": expected,
        "trades_delivered": latencies.count,
        "p50_ms": 1000 * latencies.quantile(0.50),
        "p99_ms": 1000 * latencies.quantile(0.99),
        "max_ms": 1000 * latencies.worst,
        "kicked": kicked,
        "rss_mib": memory,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200, help="ticks for the CPU runs")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the latency run")
    parser.add_argument("--rate", type=float, default=10.0, help="ticks per second, latency run")
    args = parser.parse_args()

    per_tick = len(tick_events(0))
    print(f"event stream: {WORKERS} workers, {per_tick} events per tick, {args.ticks} ticks")
    print()
    rows = []
    for n in (1, 200):
        await cpu_run(n, 10)  # warm-up
        cpu, events = await cpu_run(n, args.ticks)
        rows.append((n, cpu, events))
    naive = encode_per_client_cost(200, args.ticks)
    (_, cpu1, events), (_, cpu200, _) = rows
    per_client_us = (cpu200 - cpu1) / (events * 199) * 1e6
    print(f"{'clients':>8} {'CPU s':>8} {'ms/tick':>8} {'us/event':>9} {'x 1 client':>11}")
    for n, cpu, ev in rows:
        print(
            f"{n:>8} {cpu:>8.3f} {1000 * cpu / args.ticks:>8.2f} {1e6 * cpu / ev:>9.1f} "
            f"{cpu / cpu1:>10.1f}x"
        )
    print()
    print(f"fan-out CPU ratio, 200 clients / 1 client: {cpu200 / cpu1:.1f}x")
    print(f"fixed cost per event (1 client):          {1e6 * cpu1 / events:.1f} us")
    print(f"marginal cost per client per event:       {per_client_us:.2f} us")
    print(
        f"encoding per client instead of once would add {naive:.3f} s CPU "
        f"({naive / cpu200:.1f}x this whole 200-client run)"
    )
    print()

    print(
        f"latency: 200 clients, 10% stalled, {args.rate:g} ticks/s "
        f"({args.rate * per_tick:g} events/s), {args.duration:g} s, send timeout 2 s"
    )
    result = await latency_run(200, 0.10, args.duration, args.rate)
    print(f"{'trades delivered':>18} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'kicked':>7}")
    print(
        f"{result['trades_delivered']:>8}/{result['trades_expected']:<9} "
        f"{result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} {result['max_ms']:>8.2f} "
        f"{result['kicked']:>7}"
    )
    print("RSS MiB over the run: " + " ".join(f"{m:.1f}" for m in result["rss_mib"]))


if __name__ == "__main__":
    asyncio.run(main())
