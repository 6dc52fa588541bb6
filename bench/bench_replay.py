"""Replay throughput: signals/s of `trade-analysis replay` and of `replay(rows)` in process.

Generates a CSV (`timestamp,ticker,price,trend,bot`) of N signals: random walks over
several tickers and bots, trends up/down/none, one row a second. Then, best of R runs:

- baseline: a plain `csv.DictReader` pass over the file plus a Decimal parse of each
  price (the part no replay can avoid);
- in process: `csv.DictReader` -> `trade_analysis.trading.replay.replay(rows)`;
- in process + JSON: the same plus `result.to_json()` and `json.dumps` (what the CLI prints);
- the whole command: `trade-analysis replay FILE > /dev/null` in a subprocess (interpreter
  start and imports included).

Run by hand:

    .venv/bin/python bench/bench_replay.py [--signals 200000] [--repeat 3] [--quick]

Target: in-process replay >= 50,000 signals/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from _support import TRADE_ANALYSIS, verdict

from trade_analysis.trading.replay import replay

TARGET_SIGNALS_PER_SECOND = 50_000
TICKERS = ("AAPL", "TSLA", "MSFT", "NVDA", "AMZN", "META", "GOOG", "AMD", "NFLX", "INTC")
BOTS = ("desk-1", "desk-2", "desk-3", "desk-4", "desk-5")
TRENDS = ("up", "down", "none")


def write_signals(path: Path, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    prices = {ticker: rng.uniform(20, 500) for ticker in TICKERS}
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["timestamp", "ticker", "price", "trend", "bot"])
        for index in range(count):
            ticker = rng.choice(TICKERS)
            prices[ticker] = max(1.0, prices[ticker] * (1 + rng.gauss(0, 0.002)))
            at = (start + timedelta(seconds=index)).isoformat().replace("+00:00", "Z")
            trend = rng.choices(TRENDS, weights=(4, 4, 2))[0]
            writer.writerow([at, ticker, f"{prices[ticker]:.2f}", trend, rng.choice(BOTS)])


def baseline(path: Path) -> int:
    """What any replay must do: read every row and parse its price exactly."""
    count = 0
    with path.open(newline="", encoding="utf-8-sig") as stream:
        for row in csv.DictReader(stream):
            Decimal(row["price"])
            count += 1
    return count


def in_process(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        result = replay(csv.DictReader(stream))
    if result.bad_rows:
        raise RuntimeError(f"{result.bad_rows} bad rows: {result.first_bad_rows}")
    return result.signals


def in_process_json(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        result = replay(csv.DictReader(stream))
    json.dumps(result.to_json())
    return result.signals


def whole_command(path: Path) -> int:
    command = [str(TRADE_ANALYSIS), "replay", str(path)]
    if not TRADE_ANALYSIS.exists():
        command = [sys.executable, "-m", "trade_analysis", "replay", str(path)]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return -1


def best_of(run: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run(path)
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--signals", type=int, default=200_000, help="rows in the CSV")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is kept)")
    parser.add_argument("--quick", action="store_true", help="50,000 signals, 2 runs")
    args = parser.parse_args()
    if args.quick:
        args.signals, args.repeat = 50_000, 2

    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        path = Path(tmp) / "signals.csv"
        write_signals(path, args.signals)
        size = path.stat().st_size / 2**20
        with path.open(newline="", encoding="utf-8") as stream:
            sample = replay(csv.DictReader(stream))
        print(
            f"{args.signals:,} signals ({size:.1f} MiB), {len(TICKERS)} tickers x {len(BOTS)} "
            f"bots; replay makes {len(sample.trades):,} trades, ignores "
            f"{sample.ignored_stale:,} unchanged; best of {args.repeat}"
        )
        runs: list[tuple[str, Callable[[Path], int]]] = [
            ("baseline: DictReader + Decimal", baseline),
            ("replay(rows), in process", in_process),
            ("replay + to_json + dumps, in process", in_process_json),
            ("trade-analysis replay (subprocess)", whole_command),
        ]
        timings: dict[str, float] = {}
        for label, run in runs:
            seconds, count = best_of(run, path, args.repeat)
            if count not in (-1, args.signals):
                raise RuntimeError(f"{label}: {count} signals, expected {args.signals}")
            timings[label] = seconds

    base = timings[runs[0][0]]
    print()
    print(f"{'run':<40} {'seconds':>8} {'signals/s':>11} {'x baseline time':>16}")
    for label, _ in runs:
        seconds = timings[label]
        rate = args.signals / seconds
        print(f"{label:<40} {seconds:>8.3f} {rate:>11,.0f} {seconds / base:>15.2f}x")
    print()
    rate = args.signals / timings[runs[1][0]]
    print(
        f"in-process replay: {rate:,.0f} signals/s, {timings[runs[1][0]] / base:.2f}x the "
        f"baseline's time (target >= {TARGET_SIGNALS_PER_SECOND:,} signals/s)"
    )
    print(
        f"{verdict(rate >= TARGET_SIGNALS_PER_SECOND)}: in-process replay >= "
        f"{TARGET_SIGNALS_PER_SECOND:,} signals/s"
    )


if __name__ == "__main__":
    main()
