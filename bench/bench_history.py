"""History at scale: `/history?ticker=X&limit=100` latency and insert cost, 10k vs 1M rows
(or `--large 10000000`; building that database takes tens of minutes, once a day).

For each size a migrated SQLite database is built with bulk SQL (SQLAlchemy core
executemany, big batches): `records` spread over ~100 tickers and the last 7 days
(98% observations, 2% trades with their buy and sell rows in `trades`) and the matching
`observations` rows. Databases are cached in /tmp (rebuilt when older than a day, since
the default `days=7` window moves, or with --rebuild); every run works on a copy.

Measured per size:
Every measurement alternates blocks of calls between the two sizes (both servers up at
once), so the machine's noise hits both alike.

- query, in process: `queries.history(session, HistoryFilter(since=now-7d, ticker=X,
  limit=100))` inside `Database(url).session()`, random tickers, p50/p95;
- query, HTTP (the one that matters): the real server (`python -m trade_analysis serve
  --data-dir TMP`) answering `GET /history?ticker=X&limit=100`, p50/p95, keep-alive client;
- informational: the same without `ticker` (X-Total-Count then counts the whole window,
  up to `queries.COUNT_AHEAD` rows past the page: "matched" ends in "+" when it stopped);
- insert: `Ledger(Database(url)).record_observation(ObservationInput(...), as_history=True)`,
  N calls per size in blocks alternating between the two databases (noise hits both);
  the ratio uses the median of the block means.

Run by hand:

    .venv/bin/python bench/bench_history.py [--queries 300] [--inserts 500] [--large 1000000]
                                            [--rebuild] [--no-http] [--quick]

Targets: p95 at 1M <= 2x p95 at 10k (HTTP); insert at 1M <= 1.5x insert at 10k.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from _support import free_port, percentile, server, verdict
from sqlalchemy import insert

from trade_analysis.cli import serve_command
from trade_analysis.db import models, queries
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import Trend
from trade_analysis.trading.ledger import Ledger, ObservationInput

CACHE_DIR = Path(tempfile.gettempdir())
CACHE_MAX_AGE = timedelta(days=1)
TICKERS = [f"T{index:03d}" for index in range(100)]
BOTS = [f"bot-{index:02d}" for index in range(20)]
TRENDS = ("up", "down", "none")
BATCH = 20_000
WINDOW = timedelta(days=7)
TARGET_QUERY = 2.0
TARGET_INSERT = 1.5
# The cached rows age past the retention period; a retention pass (which starts with the
# server) would then delete them mid-measurement and hold the write lock doing it.
SERVER_ENV = {"RETENTION_DAYS": "36500"}


# -- building the databases ---------------------------------------------------------------


def cache_path(rows: int) -> Path:
    return CACHE_DIR / f"trade_analysis_bench_history_{rows}.db"


def stamp_path(rows: int) -> Path:
    return cache_path(rows).with_suffix(".json")


def cached(rows: int) -> bool:
    path, stamp = cache_path(rows), stamp_path(rows)
    if not path.exists() or not stamp.exists():
        return False
    built = datetime.fromisoformat(json.loads(stamp.read_text())["built"])
    return datetime.now(UTC) - built < CACHE_MAX_AGE


def generated_rows(
    rows: int, now: datetime, seed: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(record, observation-or-None) pairs in time order over the last 7 days (minus 1 h)."""
    rng = random.Random(seed)
    span = (WINDOW - timedelta(hours=1)).total_seconds()
    start = now - WINDOW + timedelta(minutes=30)
    prices = {ticker: Decimal(rng.randint(1_000, 50_000)) / 100 for ticker in TICKERS}
    for index in range(rows):
        at = start + timedelta(seconds=span * index / rows)
        ticker = rng.choice(TICKERS)
        bot = rng.choice(BOTS)
        price = max(Decimal("0.01"), prices[ticker] + Decimal(rng.randint(-50, 50)) / 100)
        prices[ticker] = price
        trend = rng.choice(TRENDS)
        name = f"{ticker} - chart"
        if rng.random() < 0.02:
            sell = price + Decimal(rng.randint(-200, 200)) / 100
            record = {
                "ts": at,
                "kind": "trade",
                "bot": bot,
                "image_path": None,
                "name": name,
                "ticker": ticker,
                "price": price,
                "trend": "up",
                "buy_price": price,
                "sell_price": sell,
                "buy_time": at,
                "sell_time": at + timedelta(minutes=5),
                "meta": {
                    "buy_reason": "signal",
                    "sell_reason": "signal",
                    "profit": str(sell - price),
                },
            }
            yield record, None
            continue
        image = f"uploads/{rng.getrandbits(128):032x}.png"
        common = {"ts": at, "bot": bot, "image_path": image, "name": name, "ticker": ticker}
        record = {
            **common,
            "kind": "observation",
            "price": price,
            "trend": trend,
            "buy_price": None,
            "sell_price": None,
            "buy_time": None,
            "sell_time": None,
            "meta": {},
        }
        observation = {**common, "price": price, "trend": trend, "confidence": 0.9, "meta": {}}
        yield record, observation


def build(rows: int, path: Path) -> float:
    """A migrated database with `rows` history records; returns the seconds it took."""
    started = time.perf_counter()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    database = Database(url)
    now = datetime.now(UTC)
    records: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    next_id = 1
    trades: list[dict[str, Any]] = []

    def flush() -> None:
        with database.engine.begin() as connection:
            if records:
                connection.execute(insert(models.Record), records)
            if observations:
                connection.execute(insert(models.Observation), observations)
            if trades:
                connection.execute(insert(models.Trade), trades)
        records.clear()
        observations.clear()
        trades.clear()

    for record, observation in generated_rows(rows, now, seed=rows):
        record["id"] = next_id
        records.append(record)
        if observation is not None:
            observations.append(observation)
        else:
            for side, price, at, profit in (
                ("buy", record["buy_price"], record["buy_time"], None),
                (
                    "sell",
                    record["sell_price"],
                    record["sell_time"],
                    Decimal(record["meta"]["profit"]),
                ),
            ):
                trades.append(
                    {
                        "ts": at,
                        "bot": record["bot"],
                        "ticker": record["ticker"],
                        "side": side,
                        "price": price,
                        "reason": "signal",
                        "profit": profit,
                        "record_id": next_id,
                        "meta": {"trend": "up"},
                    }
                )
        next_id += 1
        if len(records) >= BATCH:
            flush()
            print(f"\r  building {rows:,} rows: {next_id - 1:,}", end="", file=sys.stderr)
    flush()
    database.dispose()
    # Plain sqlite3, outside SQLAlchemy's BEGIN IMMEDIATE: statistics, then one file to copy.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    print(file=sys.stderr)
    stamp_path(rows).write_text(json.dumps({"built": now.isoformat(), "rows": rows}))
    return time.perf_counter() - started


def ensure_database(rows: int, rebuild: bool) -> Path:
    path = cache_path(rows)
    if rebuild or not cached(rows):
        seconds = build(rows, path)
        size = path.stat().st_size / 2**20
        print(f"built {path} ({rows:,} records, {size:.0f} MiB) in {seconds:.1f} s")
    else:
        print(f"using cached {path} (--rebuild to rebuild)")
    return path


def working_copy(rows: int, directory: Path) -> str:
    """A fresh copy named as the server expects it in its data directory."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "trade_analysis.db"
    shutil.copyfile(cache_path(rows), target)
    return f"sqlite:///{target}"


# -- measurements --------------------------------------------------------------------------


def timed(call: Callable[[], object], count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


class Probe:
    """One kind of timed call against one database; `block` runs and records a few."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.block_means: list[float] = []
        self.totals: list[int] = []
        self.bounded = 0  # answers whose count was a lower bound (not exact)

    def one(self) -> None:
        raise NotImplementedError

    def block(self, count: int) -> None:
        samples = timed(self.one, count, warmup=0)
        self.samples += samples
        self.block_means.append(statistics.mean(samples))

    @property
    def matched(self) -> int:
        return round(statistics.mean(self.totals)) if self.totals else 0


class QueryInProcess(Probe):
    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.rng = random.Random(1)

    def one(self) -> None:
        filters = queries.HistoryFilter(
            since=datetime.now(UTC) - WINDOW, ticker=self.rng.choice(TICKERS), limit=100
        )
        with self.database.session() as session:
            rows, total = queries.history(session, filters)
            if len(rows) != min(100, total.count):
                raise RuntimeError(f"history returned {len(rows)} rows of {total}")
            self.totals.append(total.count)
            self.bounded += not total.exact


class QueryHttp(Probe):
    def __init__(self, client: httpx.Client, ticker: bool) -> None:
        super().__init__()
        self.client = client
        self.ticker = ticker
        self.rng = random.Random(1)

    def one(self) -> None:
        params: dict[str, str | int] = {"limit": 100}
        if self.ticker:
            params["ticker"] = self.rng.choice(TICKERS)
        response = self.client.get("/history", params=params)
        response.raise_for_status()
        total = int(response.headers["X-Total-Count"])
        if len(response.json()) != min(100, total):
            raise RuntimeError("page length does not match X-Total-Count")
        self.totals.append(total)
        self.bounded += response.headers["X-Total-Count-Exact"] == "false"


def interleave(probes: list[Probe], count: int, blocks: int, warmup: int = 20) -> None:
    """Blocks of calls alternating between the probes, so noise hits each alike."""
    for probe in probes:
        timed(probe.one, warmup, warmup=0)
        probe.samples.clear()
        probe.totals.clear()
        probe.bounded = 0
    for _ in range(blocks):
        for probe in probes:
            probe.block(max(1, count // blocks))


class Inserter(Probe):
    """`record_observation(..., as_history=True)` calls against one database."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.ledger = Ledger(database)
        self.rng = random.Random(2)
        self.prices = {t: Decimal(self.rng.randint(1_000, 50_000)) / 100 for t in TICKERS}

    def one(self) -> None:
        rng = self.rng
        ticker = rng.choice(TICKERS)
        self.prices[ticker] = max(
            Decimal("0.01"), self.prices[ticker] + Decimal(rng.randint(-50, 50)) / 100
        )
        self.ledger.record_observation(
            ObservationInput(
                bot=f"bench-insert-{rng.randrange(4)}",
                at=datetime.now(UTC),
                name=f"{ticker} - chart",
                ticker=ticker,
                price=self.prices[ticker],
                trend=Trend(rng.choice(TRENDS)),
                image_path="uploads/bench.png",
            ),
            as_history=True,
        )


def query_plans(url: str) -> list[str]:
    """SQLite's plans for the count and the page queries, as the ORM compiles them."""
    from sqlalchemy import func, select

    database = Database(url)
    try:
        since = datetime.now(UTC) - WINDOW
        statements = []
        for ticker in (TICKERS[0], None):
            filters = queries.HistoryFilter(since=since, ticker=ticker)
            base = queries.history_query(filters)
            page = base.order_by(models.Record.ts.desc(), models.Record.id.desc()).limit(100)
            # As the product counts: ids only, stopping COUNT_AHEAD rows past the page.
            ids = queries._filtered(select(models.Record.id), filters)
            reach = 100 + queries.COUNT_AHEAD + 1
            count = select(func.count()).select_from(ids.limit(reach).subquery())
            suffix = "ticker=X" if ticker else "no ticker"
            statements += [(f"count {suffix}", count), (f"page {suffix}", page)]
        lines = []
        with database.engine.connect() as connection:
            for label, statement in statements:
                compiled = statement.compile(dialect=connection.dialect)
                params = compiled.construct_params()
                processors = compiled._bind_processors
                values = tuple(
                    processors[name](params[name]) if name in processors else params[name]
                    for name in compiled.positiontup or []
                )
                plan = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + str(compiled), values
                ).all()
                lines.append(f"{label}: " + "; ".join(str(row[-1]) for row in plan))
        return lines
    finally:
        database.dispose()


def quiet_serve_command(port: int, directory: Path) -> list[str]:
    return serve_command(port, directory, "--log-level", "warning")


@dataclass
class SizeProbes:
    rows: int
    inproc: QueryInProcess
    inserts: Inserter
    http: QueryHttp | None = None
    http_all: QueryHttp | None = None


def run(args: argparse.Namespace, work: Path) -> list[SizeProbes]:
    """Both sizes side by side: every measurement alternates blocks between them."""
    sizes = (args.small, args.large)
    directories = {rows: work / f"data-{rows}" for rows in sizes}
    urls = {rows: working_copy(rows, directories[rows]) for rows in sizes}
    for rows in sizes:
        for line in query_plans(urls[rows]):
            print(f"  plan at {rows:,}: {line}")
    databases = [Database(urls[rows]) for rows in sizes]
    probes = [
        SizeProbes(rows, QueryInProcess(database), Inserter(database))
        for rows, database in zip(sizes, databases, strict=True)
    ]
    try:
        with contextlib.ExitStack() as stack:
            if not args.no_http:
                key = secrets.token_urlsafe(24)
                for size in probes:
                    port = free_port()
                    command = quiet_serve_command(port, directories[size.rows])
                    base_url = stack.enter_context(
                        server(command, port, SERVER_ENV | {"BACKEND_API_KEY": key})
                    )
                    client = stack.enter_context(
                        httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
                    )
                    size.http, size.http_all = QueryHttp(client, True), QueryHttp(client, False)
                print(f"HTTP: {args.queries} queries per size, {args.blocks} alternating blocks")
                interleave([p.http for p in probes if p.http], args.queries, args.blocks)
                few = max(args.blocks, args.queries // 4)
                interleave([p.http_all for p in probes if p.http_all], few, args.blocks)
        print(f"in process: {args.queries} queries per size, {args.blocks} alternating blocks")
        interleave([p.inproc for p in probes], args.queries, args.blocks)
        print(f"inserts: {args.inserts} calls per size, {args.blocks} alternating blocks")
        interleave([p.inserts for p in probes], args.inserts, args.blocks)
    finally:
        for database in databases:
            database.dispose()
    return probes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="rows of the small database")
    parser.add_argument("--large", type=int, default=1_000_000, help="rows of the large one")
    parser.add_argument("--queries", type=int, default=300, help="timed queries per size")
    parser.add_argument("--inserts", type=int, default=500, help="timed inserts per size")
    parser.add_argument("--blocks", type=int, default=10, help="alternating insert blocks")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    parser.add_argument("--quick", action="store_true", help="200k rows, 100 queries/inserts")
    args = parser.parse_args()
    if args.quick:
        args.large, args.queries, args.inserts = 200_000, 100, 100

    for rows in (args.small, args.large):
        ensure_database(rows, args.rebuild)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        small, large = run(args, Path(tmp))

    print()
    print(
        f"{'measurement':<36} {'rows':>10} {'matched':>9} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'mean ms':>7} {'blocks: median':>14}"
    )
    rows: list[tuple[str, Probe | None, Probe | None]] = [
        ("queries.history ticker=X, in process", small.inproc, large.inproc),
        ("GET /history?ticker=X&limit=100", small.http, large.http),
        ("GET /history?limit=100 (no ticker)", small.http_all, large.http_all),
        ("record_observation(as_history=True)", small.inserts, large.inserts),
    ]
    for label, *pair in rows:
        for size, probe in zip((small, large), pair, strict=True):
            if probe is None:
                continue
            # "+": the count stopped short of every match (a lower bound, by design).
            bound = "+" if probe.bounded else ""
            matched = f"{probe.matched:,}{bound}" if probe.totals else "-"
            print(
                f"{label:<36} {size.rows:>10,} {matched:>9} "
                f"{percentile(probe.samples, 0.5):>7.2f} {percentile(probe.samples, 0.95):>7.2f} "
                f"{statistics.mean(probe.samples):>7.2f} "
                f"{statistics.median(probe.block_means):>14.2f}"
            )
    print()

    def p95_ratio(pair: tuple[Probe | None, Probe | None]) -> float:
        low, high = pair
        if low is None or high is None:
            return float("nan")
        return percentile(high.samples, 0.95) / percentile(low.samples, 0.95)

    sizes = f"{large.rows:,} / {small.rows:,}"
    inproc_ratio = p95_ratio((small.inproc, large.inproc))
    print(f"in-process history p95 {sizes}: {inproc_ratio:.2f}x")
    query_ratio, which = inproc_ratio, "in-process (no HTTP run)"
    if small.http is not None:
        query_ratio, which = p95_ratio((small.http, large.http)), "HTTP"
        print(f"HTTP /history?ticker=X p95 {sizes}: {query_ratio:.2f}x")
        print(
            f"HTTP /history (no ticker) p95 {sizes}: "
            f"{p95_ratio((small.http_all, large.http_all)):.2f}x (informational, no target)"
        )
    insert_ratio = statistics.median(large.inserts.block_means) / statistics.median(
        small.inserts.block_means
    )
    overall = statistics.mean(large.inserts.samples) / statistics.mean(small.inserts.samples)
    print(
        f"insert {sizes}: {insert_ratio:.2f}x (median of block means; overall mean {overall:.2f}x)"
    )
    print(
        f"{verdict(query_ratio <= TARGET_QUERY)}: {which} /history p95 at {large.rows:,} "
        f"<= {TARGET_QUERY}x at {small.rows:,}"
    )
    print(
        f"{verdict(insert_ratio <= TARGET_INSERT)}: insert at {large.rows:,} <= "
        f"{TARGET_INSERT}x at {small.rows:,}"
    )


if __name__ == "__main__":
    main()
