"""What observability costs: metrics and JSON logs, per upload and per captured frame.

`bench_ingest.py --observability` compares whole servers with both on and both
off; on a shared 2-core machine its rounds swing by a fifth, far more than the
few percent in question. This bench times the added work itself, in process,
many thousand times, each piece alternating with what it replaces:

- per request: `RequestObserver` with `Metrics` (the latency histogram) against
  it without, around the same trivial ASGI app; uvicorn's access line through
  the JSON formatter against the default text one, each configured as the
  service configures uvicorn (`logs.logging_config`) and written to /dev/null;
- per trade: `Metrics.count_trade`;
- per captured frame: `CaptureMetrics` (the grab counted, the read timed)
  against the base `CaptureProbe`, which ignores it all.

It then measures the baselines in the same run: the product's own CPU per
upload (a real server under `bench_ingest.py`'s load, `--server-seconds`), and
a frame's cost (reading a 640x400 chart for a changed frame, its signature for
an unchanged one: both less than a real tick, so the shares printed are upper
bounds). Target (issue 12): under 5% of each.

    .venv/bin/python bench/bench_observability.py [--iterations 20000] [--server-seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
from _support import cpu_seconds, free_port, server_process, verdict
from bench_ingest import PNG_TARGET_BYTES, chart_png, drive, multipart_bodies, png_of_about
from starlette.types import Message, Receive, Scope, Send

from trade_analysis import logs
from trade_analysis.analysis import AnalysisSettings, analyze
from trade_analysis.api.observe import RequestObserver
from trade_analysis.capture.worker import CaptureProbe, frame_signature
from trade_analysis.cli import serve_command
from trade_analysis.metrics import CaptureMetrics, Metrics
from trade_analysis.trading.simulator import Reason, Side, TradeEvent

TARGET_SHARE = 0.05
ROUNDS = 7


def per_call_us(work: Callable[[], object], iterations: int) -> float:
    started = time.process_time()
    for _ in range(iterations):
        work()
    return (time.process_time() - started) / iterations * 1e6


def added_us(
    with_it: Callable[[], object], without: Callable[[], object], iterations: int
) -> float:
    """Median over rounds of (with - without), the two alternating, in microseconds per call."""
    differences = []
    for round_number in range(ROUNDS):
        pair = [with_it, without] if round_number % 2 == 0 else [without, with_it]
        timed = {id(work): per_call_us(work, iterations) for work in pair}
        differences.append(timed[id(with_it)] - timed[id(without)])
    return statistics.median(differences)


# -- per request ---------------------------------------------------------------------------


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def observed_request(metrics: Metrics | None) -> Callable[[], object]:
    """One request through `RequestObserver`, with or without metrics."""
    observer = RequestObserver(_answer, metrics)
    scope: Scope = {"type": "http", "method": "POST", "path": "/ingest", "headers": []}
    loop = asyncio.new_event_loop()

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    return lambda: loop.run_until_complete(observer(scope, receive, send))


def access_line(log_format: logs.LogFormat) -> Callable[[], object]:
    """uvicorn's access line, formatted as the service configures it, written to /dev/null."""
    spec = dict(logs.logging_config(log_format)["formatters"]["access"])
    module, _, name = spec.pop("()").rpartition(".")
    formatter: logging.Formatter = getattr(importlib.import_module(module), name)(**spec)
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 (kept for the run)
    handler.setFormatter(formatter)
    redact = logs.RedactSecrets()

    def emit() -> None:
        # A record each time, as uvicorn makes one per request (the filter rewrites it).
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            0,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:50123", "POST", "/ingest", "1.1", 200),
            None,
        )
        redact.filter(record)
        handler.handle(record)

    return emit


# -- per frame -----------------------------------------------------------------------------


def counted_frame(probe: CaptureProbe, *, changed: bool) -> Callable[[], object]:
    def report() -> None:
        probe.captured("x11", changed=changed)
        if changed:
            probe.read(0.012)

    return report


# -- baselines -----------------------------------------------------------------------------


def product_cpu_ms_per_request(seconds: float) -> float:
    """The server's own CPU per upload, metrics and JSON logs off, under bench_ingest's load."""
    bodies = multipart_bodies(png_of_about(PNG_TARGET_BYTES), 200, bots=4)
    key = secrets.token_urlsafe(24)
    env = {"BACKEND_API_KEY": key, "METRICS_ENABLED": "false", "LOG_FORMAT": "text"}
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as tmp:
        port = free_port()
        command = serve_command(port, Path(tmp) / "product")
        with server_process(command, port, env) as (base_url, process):
            auth = {"Authorization": f"Bearer {key}"}
            drive(base_url, auth, bodies, 4, 1.0)
            before = cpu_seconds(process.pid)
            load = drive(base_url, auth, bodies, 4, seconds)
            load.cpu = cpu_seconds(process.pid) - before
    return load.cpu_ms_per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000, help="calls per timing")
    parser.add_argument("--server-seconds", type=float, default=6.0, help="load on the server")
    args = parser.parse_args()
    n = args.iterations

    metrics_us = added_us(observed_request(Metrics()), observed_request(None), n)
    json_line, text_line = access_line("json"), access_line("text")
    json_us = added_us(json_line, text_line, n)
    trade = TradeEvent("bench", "AAPL", Side.BUY, Decimal(1), datetime.now(UTC), Reason.SIGNAL)
    counted = Metrics()
    trade_us = added_us(lambda: counted.count_trade(trade), lambda: None, n)
    capture = CaptureMetrics(Metrics())
    changed_us = added_us(
        counted_frame(capture, changed=True), counted_frame(CaptureProbe(), changed=True), n
    )
    unchanged_us = added_us(
        counted_frame(capture, changed=False), counted_frame(CaptureProbe(), changed=False), n
    )

    chart = cv2.imdecode(np.frombuffer(chart_png(0), np.uint8), cv2.IMREAD_COLOR)
    read_us = per_call_us(lambda: analyze(chart, "AAPL $189.23", AnalysisSettings()), 30)
    signature_us = per_call_us(lambda: frame_signature(chart), 2000)
    request_us = product_cpu_ms_per_request(args.server_seconds) * 1000

    per_request = metrics_us + json_us + trade_us
    print(f"per request: metrics {metrics_us:+.1f} us, JSON access line vs text {json_us:+.1f} us")
    print(f"per trade (at most one a request): {trade_us:+.1f} us")
    print(f"the product's CPU per upload, both off: {request_us:.0f} us")
    request_share = per_request / request_us
    print(f"observability per upload: {per_request:+.1f} us = {request_share:.2%} of it")
    changed_share, unchanged_share = changed_us / read_us, unchanged_us / signature_us
    print(
        f"per changed frame: {changed_us:+.1f} us against {read_us:.0f} us to read it "
        f"({changed_share:.2%})"
    )
    print(
        f"per unchanged frame: {unchanged_us:+.1f} us against {signature_us:.0f} us for its "
        f"signature alone ({unchanged_share:.2%})"
    )
    worst = max(request_share, changed_share, unchanged_share)
    print(f"{verdict(worst < TARGET_SHARE)}: observability under {TARGET_SHARE:.0%} of each")


if __name__ == "__main__":
    main()
