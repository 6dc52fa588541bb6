"""Ingest throughput: the real `POST /ingest` vs a bare FastAPI app that only saves the upload.

Both servers run as subprocesses, one uvicorn worker each, on loopback:

- product: `python -m trade_analysis serve --port P --data-dir TMP` (BACKEND_API_KEY set),
  exactly as users start it (default log level, so access logs are on);
- bare: this file's `--serve-bare` mode, one FastAPI route that reads the multipart upload
  and writes its bytes to a file (same uvicorn defaults and log level).
- bare+row (informational): the same, plus one row committed to SQLite (WAL,
  synchronous=NORMAL, like the product) through the thread pool: the least a server that
  records each upload must do. The product stores an observation, a history record,
  the bot, the position and on some signals a trade in that transaction.
- bare+checks (with `--checked-baseline`, informational): the product's upload without
  its trading: the key checked (HTTPBearer, constant time), the form read, the image's
  kind and structure checked (the product's own `sniff_image` and `check_complete`),
  price and trend parsed, then in the thread pool the file written atomically (the
  product's `FileStore`) and an observation and a history record committed, with the
  product's indexes on those two tables. What the product adds to it is the ledger's
  trading (bots, positions, trades, totals), the group commit and the live feed.

The client load is the same for every server: C threads, each with its own keep-alive
httpx.Client, posting pre-encoded multipart bodies (a ~50 KiB PNG plus ticker, price,
trend and bot fields that vary so the product trades now and then) for D seconds.
Runs alternate (bare, product, bare, product, ...), each after an `os.sync()`, the
product's variants (`--compare`, `--observability`) taking turns going first; the
verdict is the median of the per-round ratios (see the end of `main`).
Run by hand:

    .venv/bin/python bench/bench_ingest.py [--duration 5] [--rounds 5] [--clients 4] [--quick]
                                           [--product-db FILE] [--no-row-baseline]
                                           [--compare LABEL=SRC ...] [--observability]
                                           [--checked-baseline]

`--compare before=DIR` also runs the product from DIR (a copy of another commit's
`src/`, e.g. `git archive`), in the same rounds, for a before/after measured together.
`--observability` runs the product twice more: metrics and JSON logs both on, and
both off; their ratio is what observability costs.

Target: product >= 0.6x bare+row requests/s (median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from _support import cpu_seconds, free_port, server_process, verdict
from fastapi import Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trade_analysis.cli import serve_command

TARGET_RATIO = 0.6
PNG_TARGET_BYTES = 50 * 1024
TICKERS = ("AAPL", "TSLA", "MSFT", "NVDA", "AMZN", "META", "GOOG", "AMD")
TRENDS = ("up", "down", "none")
BODIES = 400


# -- the image ------------------------------------------------------------------------


def chart_png(noise_rows: int, width: int = 640, height: int = 400, seed: int = 7) -> bytes:
    """A dark chart with a grid and a random-walk line; `noise_rows` of noise make it bigger."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), (24, 20, 18), np.uint8)
    image[:, ::40] = (50, 50, 50)
    image[::40, :] = (50, 50, 50)
    walk = np.cumsum(rng.normal(0, 3, width))
    walk = (walk - walk.min()) / (np.ptp(walk) or 1) * (height - 80) + 40
    points = np.stack([np.arange(width), height - walk], axis=1).astype(np.int32)
    cv2.polylines(image, [points], False, (80, 200, 80), 2, cv2.LINE_AA)
    if noise_rows:
        image[height - noise_rows :] += rng.integers(0, 8, (noise_rows, width, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return encoded.tobytes()


def png_of_about(target: int) -> bytes:
    """Binary-search the noise band for the PNG closest to `target` bytes."""
    low, high = 0, 400
    best = chart_png(0)
    while low <= high:
        middle = (low + high) // 2
        data = chart_png(middle)
        if abs(len(data) - target) < abs(len(best) - target):
            best = data
        if len(data) < target:
            low = middle + 1
        else:
            high = middle - 1
    return best


# -- the bare server --------------------------------------------------------------------


BARE_MODES = ("plain", "row", "checked")


def serve_bare(port: int, directory: Path, mode: str) -> None:
    import sqlite3

    import uvicorn
    from starlette.concurrency import run_in_threadpool

    app = FastAPI()
    database = sqlite3.connect(directory / "rows.db", check_same_thread=False)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("CREATE TABLE IF NOT EXISTS uploads (id INTEGER PRIMARY KEY, name, ts)")
    lock = threading.Lock()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    if mode == "checked":
        add_checked_ingest(app, directory, database, lock)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
        return

    def record(name: str) -> None:
        with lock, database:
            database.execute("INSERT INTO uploads (name, ts) VALUES (?, ?)", (name, time.time()))

    @app.post("/ingest")
    async def ingest(file: UploadFile = File(...)) -> dict[str, str]:
        data = await file.read()
        name = f"{uuid.uuid4().hex}.png"
        # Inline on purpose: the least a server can do with an upload (a 50 KiB page-cache
        # write); the product pays a thread hop, a sniff, an atomic rename and the ledger on top.
        with open(directory / name, "wb") as stream:  # noqa: ASYNC230
            stream.write(data)
        if mode == "row":
            await run_in_threadpool(record, name)
        return {"name": name}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


CHECKED_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS observations"
    " (id INTEGER PRIMARY KEY, ts, bot, name, ticker, price, trend, image_path, meta)",
    "CREATE INDEX IF NOT EXISTS ix_observations_ts ON observations (ts)",
    "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, ts, kind, bot, image_path,"
    " name, ticker, price, price_text, trend, meta)",
    "CREATE INDEX IF NOT EXISTS ix_records_ts ON records (ts)",
    "CREATE INDEX IF NOT EXISTS ix_records_ticker_ts ON records (ticker, ts)",
    "CREATE INDEX IF NOT EXISTS ix_records_kind_ts ON records (kind, ts)",
)


def add_checked_ingest(app: FastAPI, directory: Path, database: Any, lock: threading.Lock) -> None:
    """bare+checks: the product's upload checks and its two rows, without its trading.

    (FastAPI reads the route's annotations by name: they are imported at the top.)"""
    import hmac
    from datetime import UTC, datetime

    from starlette.concurrency import run_in_threadpool

    from trade_analysis.domain import Trend, parse_price
    from trade_analysis.storage import FileStore, check_complete, sniff_image

    for statement in CHECKED_SCHEMA:
        database.execute(statement)
    key = os.environ["BACKEND_API_KEY"].encode()
    bearer = HTTPBearer(auto_error=False)
    uploads = FileStore(directory / "uploads")
    uploads.ensure()

    async def check_key(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), key):
            raise HTTPException(403, "wrong API key")

    def store(name: str, data: bytes, fields: dict[str, str]) -> tuple[int, int]:
        uploads.write_atomic(name, data)
        at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        row = (at, fields["bot"], fields["name"], fields["ticker"], fields["price"])
        with lock, database:
            observation = database.execute(
                "INSERT INTO observations (ts, bot, name, ticker, price, trend, image_path, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, '{}')",
                (*row, fields["trend"], f"uploads/{name}"),
            ).lastrowid
            record = database.execute(
                "INSERT INTO records (ts, kind, bot, name, ticker, price, trend, image_path,"
                " price_text, meta) VALUES (?, 'observation', ?, ?, ?, ?, ?, ?, ?, '{}')",
                (*row, fields["trend"], f"uploads/{name}", fields["price_text"]),
            ).lastrowid
        return observation, record

    @app.post("/ingest", dependencies=[Depends(check_key)])
    async def ingest(request: Request) -> dict[str, Any]:
        form = await request.form(max_files=1, max_fields=32)
        upload = form["file"]
        if isinstance(upload, str):
            raise HTTPException(422, "file must be a file upload")
        data = await upload.read()
        extension = sniff_image(data[:512])
        check_complete(data, extension)
        text = {name: str(form[name]) for name in ("ticker", "price", "trend", "bot", "name")}
        fields = text | {
            "ticker": text["ticker"].strip().upper(),
            "price": format(parse_price(text["price"]), "f"),
            "price_text": text["price"],
            "trend": Trend(text["trend"].strip().lower()).value,
        }
        name = f"{uuid.uuid4().hex}.{extension}"
        observation, record = await run_in_threadpool(store, name, data, fields)
        return {"id": record, "observation_id": observation, "image_url": f"/uploads/{name}"}


# -- the load ---------------------------------------------------------------------------


def multipart_bodies(png: bytes, count: int, bots: int) -> list[tuple[bytes, str]]:
    """Pre-encoded multipart bodies: per-ticker random walks, trends mixed, a bot each."""
    rng = np.random.default_rng(11)
    prices = dict.fromkeys(TICKERS, 100.0)
    bodies = []
    for index in range(count):
        ticker = TICKERS[index % len(TICKERS)]
        prices[ticker] = max(1.0, prices[ticker] + float(rng.normal(0, 0.5)))
        fields = {
            "ticker": ticker,
            "price": f"${prices[ticker]:,.2f}",
            "trend": TRENDS[int(rng.integers(0, 3))],
            "bot": f"bench-{index % bots}",
            "name": f"{ticker} chart",
        }
        request = httpx.Request(
            "POST",
            "http://bench/ingest",
            data=fields,
            files={"file": ("chart.png", png, "image/png")},
        )
        bodies.append((request.read(), request.headers["content-type"]))
    return bodies


@dataclass
class Load:
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0  # the server's CPU seconds during the run

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu / self.ok * 1000 if self.ok else 0.0

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def drive(
    base_url: str,
    headers: dict[str, str],
    bodies: list[tuple[bytes, str]],
    clients: int,
    secs: float,
) -> Load:
    """`clients` threads posting for `secs` seconds; counts 200s and everything else."""
    load = Load()
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at: list[float] = [0.0]

    def worker(offset: int) -> None:
        ok = errors = 0
        with httpx.Client(base_url=base_url, timeout=30) as client:
            start_gate.wait()
            index = offset
            while time.perf_counter() < stop_at[0]:
                body, content_type = bodies[index % len(bodies)]
                index += clients
                try:
                    response = client.post(
                        "/ingest", content=body, headers={**headers, "content-type": content_type}
                    )
                    if response.status_code == 200:
                        ok += 1
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
        with lock:
            load.ok += ok
            load.errors += errors

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    stop_at[0] = start + secs
    start_gate.wait()
    for thread in threads:
        thread.join()
    load.elapsed = time.perf_counter() - start
    return load


# -- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="alternations (median is kept)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before a run")
    parser.add_argument("--no-row-baseline", action="store_true", help="skip the bare+row server")
    parser.add_argument(
        "--checked-baseline",
        action="store_true",
        help="also run bare+checks: the product's upload checks and two rows, no trading",
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs, 3 rounds")
    parser.add_argument(
        "--product-db",
        type=Path,
        help="start the product on a copy of this SQLite file (e.g. a big ledger from "
        "bench_history.py) instead of an empty database",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LABEL=SRC",
        help="also run the product from this copy of src/ (e.g. `git archive` of an older "
        "commit), labelled LABEL, for a before/after in the same run; repeatable",
    )
    parser.add_argument("--before-src", type=Path, help="the same as --compare before=SRC")
    parser.add_argument(
        "--observability",
        action="store_true",
        help="also run the product with metrics and JSON logs on (`observed`) and with "
        "both off (`quiet`): what they cost",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--bare-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bare-mode", choices=BARE_MODES, default="plain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.bare_dir, args.bare_mode)
        return
    if args.quick:
        args.duration, args.rounds = 3.0, 3

    png = png_of_about(PNG_TARGET_BYTES)
    if cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR) is None:
        raise RuntimeError("the generated PNG does not decode")
    bodies = multipart_bodies(png, BODIES, bots=args.clients)
    print(
        f"PNG {len(png)} bytes ({len(png) / 1024:.1f} KiB), multipart body "
        f"~{len(bodies[0][0]) / 1024:.1f} KiB; {args.clients} client threads, "
        f"{args.duration:g} s per run, {args.rounds} round(s), cores: {os.cpu_count()}"
    )

    key = secrets.token_urlsafe(24)
    auth = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        if args.product_db is not None:
            (root / "product").mkdir()
            shutil.copyfile(args.product_db, root / "product" / "trade_analysis.db")
            print(f"product starts on a copy of {args.product_db}")
        servers: dict[str, tuple[list[str], int, dict[str, str], dict[str, str]]] = {}
        product_port = free_port()
        servers["product"] = (
            serve_command(product_port, root / "product"),
            product_port,
            # A copied ledger may hold rows past retention: keep the pruning out of the runs.
            {"BACKEND_API_KEY": key, **({"RETENTION_DAYS": "36500"} if args.product_db else {})},
            auth,
        )
        product_env = servers["product"][2]
        variants_of_product: dict[str, dict[str, str]] = {}
        for label, source in compared(args):
            variants_of_product[label] = {**product_env, "PYTHONPATH": str(source.resolve())}
        if args.observability:
            variants_of_product["observed"] = {
                **product_env,
                "METRICS_ENABLED": "true",
                "LOG_FORMAT": "json",
            }
            variants_of_product["quiet"] = {
                **product_env,
                "METRICS_ENABLED": "false",
                "LOG_FORMAT": "text",
            }
        for label, env in variants_of_product.items():
            port = free_port()
            servers[label] = (serve_command(port, root / label), port, env, auth)
        variants = [("bare", "plain")]
        variants += [] if args.no_row_baseline else [("bare+row", "row")]
        variants += [("bare+checks", "checked")] if args.checked_baseline else []
        for label, mode in variants:
            directory = root / label
            directory.mkdir()
            port = free_port()
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve-bare",
                str(port),
                "--bare-dir",
                str(directory),
            ]
            checked = mode == "checked"
            servers[label] = (
                [*command, "--bare-mode", mode],
                port,
                {"BACKEND_API_KEY": key} if checked else {},
                auth if checked else {},
            )

        order = [label for label, _ in variants] + [*variants_of_product, "product"]
        results: dict[str, list[Load]] = {label: [] for label in order}
        baselines = [label for label, _ in variants]
        products = [*variants_of_product, "product"]
        for round_number in range(args.rounds):
            # The product and its variants take turns going first after the baselines: a
            # run's place in the round (the files the runs before it left) is no one's edge.
            turn = round_number % len(products)
            for label in baselines + products[turn:] + products[:turn]:
                command, port, env, headers = servers[label]
                # Flush the previous run's uploads to disk first: otherwise the kernel writes
                # them back during this run, on the same cores, and the run that follows a
                # faster one (more files) is charged for it.
                os.sync()
                with server_process(command, port, env) as (base_url, process):
                    drive(base_url, headers, bodies, args.clients, args.warmup)
                    cpu_before = cpu_seconds(process.pid)
                    load = drive(base_url, headers, bodies, args.clients, args.duration)
                    load.cpu = cpu_seconds(process.pid) - cpu_before
                results[label].append(load)
                print(
                    f"  round {round_number + 1} {label:<11} {load.rps:8.1f} req/s "
                    f"({load.ok} ok, {load.errors} errors), "
                    f"server CPU {load.cpu_ms_per_request:.2f} ms/request"
                )
        trades = count_trades(root / "product" / "trade_analysis.db")

    best = {label: max(loads, key=lambda load: load.rps) for label, loads in results.items()}
    bare = best["bare"].rps
    print()
    print(f"{'server':<12} {'best req/s':>11} {'all runs req/s':>24} {'errors':>7} {'x bare':>7}")
    for label in order:
        runs = " ".join(f"{load.rps:.1f}" for load in results[label])
        errors = sum(load.errors for load in results[label])
        rps = best[label].rps
        print(f"{label:<12} {rps:>11.1f} {runs:>24} {errors:>7} {rps / bare:>6.2f}x")
    print()
    if trades is not None:
        print(f"product ledger after all runs: {trades} trades")
    # This machine's speed changes from one minute to the next (shared cores), so the
    # verdict is the median over rounds of product / baseline measured back to back, not
    # the ratio of two best runs that may come from different minutes.
    per_round = per_round_ratios(results["product"], results["bare"])
    print(f"ratio product / bare, best runs: {best['product'].rps / bare:.2f}x")
    print(f"ratio product / bare, per round: {' '.join(f'{r:.2f}' for r in per_round)}")
    print(f"ratio product / bare, median of rounds: {statistics.median(per_round):.2f}x")
    # The target is against bare+row, the least a server that records each upload does.
    baseline = "bare+row" if "bare+row" in results else "bare"
    ratio = 0.0
    for label in [*variants_of_product, "product"]:
        ratios = per_round_ratios(results[label], results[baseline])
        ratio = statistics.median(ratios)  # the product's, printed last
        if baseline == "bare" and label == "product":
            break  # printed above
        print(f"ratio {label} / {baseline}, per round: {' '.join(f'{r:.2f}' for r in ratios)}")
        print(f"ratio {label} / {baseline}, median of rounds: {ratio:.2f}x")
    if "bare+checks" in results:
        # Informational: what the product costs beyond the same checks and rows.
        for label in [*variants_of_product, "product"]:
            checked = per_round_ratios(results[label], results["bare+checks"])
            rounds = " ".join(f"{r:.2f}" for r in checked)
            print(f"ratio {label} / bare+checks, per round: {rounds}")
            median = statistics.median(checked)
            print(f"ratio {label} / bare+checks, median of rounds: {median:.2f}x")
    if args.observability:
        cost = per_round_ratios(results["observed"], results["quiet"])
        cpu_cost = [
            observed.cpu_ms_per_request / quiet.cpu_ms_per_request
            for observed, quiet in zip(results["observed"], results["quiet"], strict=True)
            if quiet.cpu_ms_per_request
        ]
        print(f"ratio observed / quiet req/s, per round: {' '.join(f'{r:.2f}' for r in cost)}")
        print(
            f"observability (metrics + JSON logs): req/s {statistics.median(cost):.2f}x, "
            f"server CPU per request {statistics.median(cpu_cost):.2f}x of both off "
            "(median of rounds; target: under 5% either way)"
        )
    # CPU per request hardly depends on what else the machine runs: the steadier figure.
    for label in order:
        cpu = statistics.median(load.cpu_ms_per_request for load in results[label])
        print(f"server CPU per request, {label:<9} median of rounds: {cpu:.2f} ms")
    print(
        f"{verdict(ratio >= TARGET_RATIO)}: ingest throughput product >= {TARGET_RATIO}x {baseline}"
    )


def compared(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The `--compare LABEL=SRC` (and `--before-src`) trees, by label."""
    trees = [(label, Path(source)) for label, _, source in (c.partition("=") for c in args.compare)]
    if args.before_src is not None:
        trees.append(("before", args.before_src))
    for label, source in trees:
        if not label or not source.is_dir():
            raise SystemExit(
                f"--compare wants LABEL=DIR with an existing DIR, got {label}={source}"
            )
    return trees


def per_round_ratios(runs: list[Load], baselines: list[Load]) -> list[float]:
    """Requests per second of `runs` over `baselines`, round by round."""
    return [
        run.rps / baseline.rps
        for baseline, run in zip(baselines, runs, strict=True)
        if baseline.rps
    ]


def count_trades(path: Path) -> int | None:
    import sqlite3

    if not path.exists():
        return None
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM trades").fetchone()[0])


if __name__ == "__main__":
    main()
