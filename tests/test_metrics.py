"""Metrics: Prometheus text at /metrics behind the key, counting what the issue lists,
in one process (test client, real server) and across `serve --workers 2`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.capture.test_worker_and_manager import ScriptedDesktop, chart
from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from tests.support.xvfb import wait_until
from trade_analysis.app import create_app
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.config import Settings
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.live.hub import HubStats
from trade_analysis.metrics import CaptureMetrics, Metrics
from trade_analysis.trading.ledger import Ledger

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(get: Callable[..., httpx.Response]) -> Samples:
    response = get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


SIGNAL = {"bot": "desk-1", "ticker": "AAPL", "price": "187.5"}


def test_requests_trades_and_live_clients_are_counted(client: TestClient) -> None:
    client.post("/ingest", data={**SIGNAL, "trend": "up"})
    client.post("/ingest", data={**SIGNAL, "price": "189", "trend": "down"})
    client.delete("/bots/123456")
    with client.websocket_connect("/api/v1/ws", headers=AUTH) as socket:
        socket.receive_json()
        samples = scrape(client.get)
    duration = "trade_analysis_http_request_duration_seconds_count"
    assert value(samples, duration, method="POST", route="/ingest", status="200") == 2
    # By route template: one series for every bot id.
    assert value(samples, duration, method="DELETE", route="/bots/{hwnd}", status="404") == 1
    assert value(samples, "trade_analysis_trades_total", side="buy", reason="signal") == 1
    assert value(samples, "trade_analysis_trades_total", side="sell", reason="signal") == 1
    assert value(samples, "trade_analysis_websocket_clients", stream="events") == 1
    assert ("trade_analysis_writer_queue_depth", frozenset()) in samples
    after = scrape(client.get)
    assert value(after, "trade_analysis_websocket_clients", stream="events") == 0


def test_retention_deletions_are_counted(settings: Settings) -> None:
    pruning = settings.model_copy(update={"retention_days": 1, "retention_interval_seconds": 0.05})
    with TestClient(create_app(pruning)) as client:
        old = {**SIGNAL, "trend": "none", "ts": "2020-01-02T00:00:00Z"}
        assert client.post("/ingest", headers=AUTH, data=old).status_code == 200
        deadline = time.monotonic() + 10
        while value(scrape(client.get), "trade_analysis_retention_deleted_total") < 1:
            assert time.monotonic() < deadline, "retention never counted the old observation"
            time.sleep(0.05)


def test_capture_counts_frames_by_source_and_change(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    database = Database(database_url)
    metrics = Metrics()
    desktop = ScriptedDesktop()
    manager = CaptureManager(
        Ledger(database),
        tmp_path / "screenshots",
        ReadingSink(Ledger(database)),
        source_factory=desktop.source,
        probe=CaptureMetrics(metrics),
    )
    try:
        desktop.show(11, "AAPL $175.23 - Robinhood", chart(rising=True))
        manager.start(11, interval=0.5)
        wait_until(lambda: desktop.captures.get(11, 0) >= 3)
        desktop.close(11)
        wait_until(lambda: manager.worker(11).failed_captures >= 1)
    finally:
        manager.stop_all()
        database.dispose()
    samples = parse(metrics.exposition().decode())
    grabbed = value(samples, "trade_analysis_captures_total", source="composite")
    assert grabbed >= 3
    assert value(samples, "trade_analysis_frames_total", changed="true") == 1
    assert value(samples, "trade_analysis_frames_total", changed="false") == grabbed - 1
    assert value(samples, "trade_analysis_frame_read_seconds_count") == 1
    assert value(samples, "trade_analysis_capture_failures_total", source="composite") >= 1


def test_live_counters_are_added_as_deltas() -> None:
    metrics = Metrics()
    stats = HubStats(coalesced=3, disconnected_slow=1)
    for reconnects in (0, 2, 2):
        metrics.sample_live(
            hub=stats, bus_reconnects=reconnects, clients={"events": 2}, writer_queue_depth=5
        )
    stats.coalesced = 7
    metrics.sample_live(hub=stats, bus_reconnects=3, clients={"events": 1}, writer_queue_depth=0)
    samples = parse(metrics.exposition().decode())
    assert value(samples, "trade_analysis_websocket_dropped_total", kind="coalesced") == 7
    assert value(samples, "trade_analysis_websocket_dropped_total", kind="client_closed") == 1
    assert value(samples, "trade_analysis_bus_reconnects_total") == 3
    assert value(samples, "trade_analysis_websocket_clients", stream="events") == 1
    assert value(samples, "trade_analysis_writer_queue_depth") == 0


def test_a_real_server_serves_metrics_behind_the_key(tmp_path: Path, database_url: str) -> None:
    server = ServerProcess(
        tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url}
    ).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/metrics").status_code == 401
            client.post("/ingest", headers=AUTH, data={**SIGNAL, "trend": "up"})
            samples = scrape(client.get)
    finally:
        server.stop()
    assert value(samples, "trade_analysis_trades_total", side="buy", reason="signal") == 1
    assert (
        value(
            samples,
            "trade_analysis_http_request_duration_seconds_count",
            method="POST",
            route="/ingest",
            status="200",
        )
        == 1
    )


def ingest_counts_per_process(directory: Path) -> list[float]:
    """What each worker process wrote for POST /ingest, read from its own file."""
    from prometheus_client.multiprocess import MultiProcessCollector

    counts = []
    for path in sorted(directory.glob("histogram_*.db")):
        total = 0.0
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                labels = sample.labels
                if sample.name.endswith("_count") and labels.get("route") == "/ingest":
                    total += sample.value
        counts.append(total)
    return counts


@pytest.mark.redis
@pytest.mark.slow
def test_every_worker_process_is_counted_whichever_answers(
    tmp_path: Path, database_url: str
) -> None:
    from tests.e2e.test_scale_out import BUS_URL, _redis_problem
    from tests.support.xvfb import missing

    problem = _redis_problem()
    if problem:
        missing(problem)
    server = ServerProcess(
        tmp_path / "data",
        {
            "BACKEND_API_KEY": TEST_KEY,
            "DATABASE_URL": database_url,
            "BUS_URL": BUS_URL,
            "BUS_CHANNEL_PREFIX": f"metrics-{os.getpid()}-{time.monotonic_ns()}",
        },
        args=["--workers", "2"],
    ).start(timeout=60)
    uploads = 40
    try:
        for index in range(uploads):
            # A new connection each time, so the kernel spreads them over both workers.
            response = httpx.post(
                server.url + "/ingest",
                headers={**AUTH, "Connection": "close"},
                data={"bot": f"b{index}", "ticker": "AAPL", "price": "1", "trend": "none"},
            )
            assert response.status_code == 200
        # A request is counted once its response has been sent, so the last ones may land
        # just after the client read them.
        deadline = time.monotonic() + 10
        per_process = ingest_counts_per_process(server.data_dir / "metrics")
        while sum(per_process) < uploads and time.monotonic() < deadline:
            time.sleep(0.1)
            per_process = ingest_counts_per_process(server.data_dir / "metrics")
        assert len(per_process) == 2 and all(per_process), per_process  # both workers served
        assert sum(per_process) == uploads
        for _ in range(6):
            samples = scrape(lambda *a, **k: httpx.get(server.url + a[0], **k))
            count = value(
                samples,
                "trade_analysis_http_request_duration_seconds_count",
                method="POST",
                route="/ingest",
                status="200",
            )
            assert count == uploads
    finally:
        server.stop()


def test_metrics_can_be_switched_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}))) as client:
        assert client.get("/metrics", headers=AUTH).status_code == 404
        assert client.get("/trades", headers=AUTH).headers["x-request-id"]
