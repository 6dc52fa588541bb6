"""How long GET /api/v1/stats takes as the ledger and the observations grow.

Fills a fresh SQLite database (the schema by the app's own start-up) with BOTS bots
trading TICKERS tickers: N observations a second apart and a round trip every 10 of
them, then times (CPU) `/api/v1/stats` (all bots, and one bot with its chart) through HTTP
in process. Prints a table; run by hand:

    .venv/bin/python bench/bench_stats.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert

from trade_analysis.app import create_app
from trade_analysis.config import Settings
from trade_analysis.db import models

KEY = "bench-key-" + "x" * 24
BOTS = 10


def fill(url: str, observations: int) -> int:
    """`observations` readings over BOTS bots, a round trip per 10; returns trades made."""
    engine = create_engine(url)
    start = datetime.now(UTC) - timedelta(seconds=observations + 60)
    readings, trades = [], []
    for index in range(observations):
        bot = f"bot{index % BOTS}"
        price = Decimal(100) + Decimal(index % 37) / 4
        at = start + timedelta(seconds=index)
        trend = ("up", "down", "none")[index % 3]
        readings.append(
            {"ts": at, "bot": bot, "ticker": "SPY", "price": price, "trend": trend, "meta": {}}
        )
        step = index // BOTS
        if step % 10 in (0, 5):
            side = "buy" if step % 10 == 0 else "sell"
            profit = price - Decimal(100) if side == "sell" else None
            trades.append(
                {
                    "ts": at,
                    "bot": bot,
                    "ticker": "SPY",
                    "side": side,
                    "price": price,
                    "reason": "signal",
                    "profit": profit,
                    "meta": {},
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(models.Observation), readings)
        connection.execute(insert(models.Trade), trades)
    engine.dispose()
    return len(trades)


def timed(client: TestClient, params: dict[str, str], runs: int = 3) -> float:
    """The least CPU time (this process, all threads) of `runs` requests: on a busy
    machine wall time measures the neighbours."""
    best = float("inf")
    for _ in range(runs):
        began = time.process_time()
        response = client.get("/api/v1/stats", params=params)
        best = min(best, time.process_time() - began)
        assert response.status_code == 200, response.text
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    sizes = parser.parse_args().sizes
    heading = ("observations", 12), ("trades", 7), ("all bots cpu s", 14), ("one bot cpu s", 13)
    print(*(f"{name:>{width}}" for name, width in heading), f"{'µs/obs':>7}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            settings = Settings(api_key=KEY, data_dir=Path(folder), database_url=url)
            with TestClient(create_app(settings)) as client:
                client.headers["Authorization"] = f"Bearer {KEY}"
                made = fill(url, size)
                every = timed(client, {})
                one = timed(client, {"bot": "bot0"})
            print(f"{size:>12} {made:>7} {every:>14.3f} {one:>13.3f} {every / size * 1e6:>7.1f}")


if __name__ == "__main__":
    main()
