"""Prometheus metrics: one `Metrics` per app (no module-level registry), served at /metrics.

With several API processes (`serve --workers N`) each writes its values to
files in `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode;
`serve` sets it to a directory under the data directory and empties it at
start) and /metrics, answered by any of them, adds up every process's files.
The variable must be set before prometheus-client is imported, so it is the
serving command's job, not the app's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from trade_analysis.capture.worker import CaptureProbe
from trade_analysis.live.hub import HubStats
from trade_analysis.trading.simulator import TradeEvent

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_NAME = "metrics"  # under the data directory, for `serve --workers N`
CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_READ_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROCESS_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir(directory: Path) -> None:
    """An empty directory for this run's processes: files of a previous run would add up."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)


class Metrics:
    """Everything the service counts. Names start with `trade_analysis_`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.request_seconds = Histogram(
            "trade_analysis_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.captures = Counter(
            "trade_analysis_captures",
            "Window grabs that produced a frame, by capture source",
            ["source"],
            registry=registry,
        )
        self.capture_failures = Counter(
            "trade_analysis_capture_failures",
            "Window grabs that failed, by capture source",
            ["source"],
            registry=registry,
        )
        self.frames = Counter(
            "trade_analysis_frames",
            "Captured frames, changed (read and stored) or unchanged (skipped)",
            ["changed"],
            registry=registry,
        )
        self.read_seconds = Histogram(
            "trade_analysis_frame_read_seconds",
            "Time to read a changed frame (title, chart, thumbnail)",
            buckets=_READ_BUCKETS,
            registry=registry,
        )
        self.trades = Counter(
            "trade_analysis_trades",
            "Paper trades, by side and the rule that made them",
            ["side", "reason"],
            registry=registry,
        )
        self.websocket_clients = Gauge(
            "trade_analysis_websocket_clients",
            "Live WebSocket clients, by stream",
            ["stream"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.websocket_dropped = Counter(
            "trade_analysis_websocket_dropped",
            "Live messages a slow client skipped (newest-wins) or was closed for",
            ["kind"],
            registry=registry,
        )
        self.bus_reconnects = Counter(
            "trade_analysis_bus_reconnects",
            "Times the event bus came back after being unavailable",
            registry=registry,
        )
        self.writer_queue_depth = Gauge(
            "trade_analysis_writer_queue_depth",
            "Observations waiting for the ledger writer",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.retention_deleted = Counter(
            "trade_analysis_retention_deleted",
            "Observations removed by retention",
            registry=registry,
        )

        self._seen: dict[str, int] = {}

    def count_trade(self, trade: TradeEvent) -> None:
        self.trades.labels(trade.side.value, trade.reason.value).inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The text format; in multiprocess mode, every process's values added up."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    @staticmethod
    def process_exited(pid: int) -> None:
        """Drop a finished process's live gauges (its counters keep counting in the sum)."""
        if multiprocess_dir() is not None:
            prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

    def sample_live(
        self,
        *,
        hub: HubStats | None,
        bus_reconnects: int,
        clients: dict[str, int],
        writer_queue_depth: int,
    ) -> None:
        """Gauges now, and counters the live layer keeps itself (added as deltas)."""
        for stream, count in clients.items():
            self.websocket_clients.labels(stream).set(count)
        self.writer_queue_depth.set(writer_queue_depth)
        if hub is not None:
            self._add("coalesced", hub.coalesced, self.websocket_dropped.labels("coalesced"))
            self._add("slow", hub.disconnected_slow, self.websocket_dropped.labels("client_closed"))
        self._add("reconnects", bus_reconnects, self.bus_reconnects)

    def _add(self, name: str, total: int, counter: Counter) -> None:
        previous = self._seen.get(name, 0)
        if total > previous:
            counter.inc(total - previous)
        self._seen[name] = total


class CaptureMetrics(CaptureProbe):
    """What capture workers report, into the app's metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._captures = metrics.captures
        self._failures = metrics.capture_failures
        self._changed = metrics.frames.labels("true")
        self._unchanged = metrics.frames.labels("false")
        self._read = metrics.read_seconds
        self._by_source: dict[str, Counter] = {}

    def captured(self, source: str, *, changed: bool) -> None:
        # The labelled child looked up once per source: this runs on every grab.
        counter = self._by_source.get(source)
        if counter is None:
            counter = self._by_source.setdefault(source, self._captures.labels(source))
        counter.inc()
        (self._changed if changed else self._unchanged).inc()

    def failed(self, source: str) -> None:
        self._failures.labels(source).inc()

    def read(self, seconds: float) -> None:
        self._read.observe(seconds)
