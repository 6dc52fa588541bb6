"""The service's long-lived parts, built whole for a role by one `async with`.

`open_services(settings, role)` opens the database (migrated), the ledger and
its writer thread, the bus, the hub, the live feed with its coalesced
summaries, capture (in this process or answered by the agent) and the seed's
snapshot stream, in that order, on one `AsyncExitStack`: on the way out, or
when a step fails on the way in, everything already open is closed in
reverse order. The `Services` it yields is complete: nothing in it is filled
in or swapped later.

Roles: `API` (the server with capture in this process, the embedded default),
`API_WITH_AGENT` (the server, capture answered over the bus by the one
`trade-analysis agent`), `AGENT` (that agent: capture here, the same writer and
the same coalesced summaries as a server, no HTTP).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool

from trade_analysis.aio import running
from trade_analysis.capture.agent import RemoteCapture
from trade_analysis.capture.control import CaptureControl, LocalCapture
from trade_analysis.capture.errors import AgentUnavailable, CaptureUnavailable
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.config import Settings
from trade_analysis.db import queries, retention
from trade_analysis.db.inuse import held_by_service
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import utcnow
from trade_analysis.live import Channels, Event, Hub, bus_from_url
from trade_analysis.live.feed import LiveFeed
from trade_analysis.live.payloads import (
    SNAPSHOT_TRADES,
    compact_summary_event,
    hello_event,
    seed_snapshot,
    summary_json,
)
from trade_analysis.live.snapshots import Snapshot, SnapshotStream, ThumbnailCache
from trade_analysis.metrics import CaptureMetrics, Metrics
from trade_analysis.storage import FileStore, remove_data_file, remove_files_older_than
from trade_analysis.trade_frames import TradeFrames
from trade_analysis.trading.ledger import Ledger
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.trading.writer import LedgerWriter
from trade_analysis.wire import TradeEntry

logger = logging.getLogger(__name__)

# Upload names checked against the database per query by the orphan sweep.
ORPHAN_BATCH = 500


class Role(Enum):
    API = "api"
    API_WITH_AGENT = "api-with-agent"
    AGENT = "agent"

    @classmethod
    def for_server(cls, settings: Settings) -> Role:
        return cls.API_WITH_AGENT if settings.capture_mode == "agent" else cls.API

    @property
    def serves_http(self) -> bool:
        return self is not Role.AGENT


@dataclass(frozen=True)
class Services:
    role: Role
    settings: Settings
    database: Database
    ledger: Ledger
    uploads: FileStore
    # The one thread that stores observations (uploads and captures), in groups.
    writer: LedgerWriter
    channels: Channels
    hub: Hub
    feed: LiveFeed
    capture: CaptureControl
    # The seed's once-a-second snapshot (`/ws`, `/`); idle while no client listens.
    snapshots: SnapshotStream
    metrics: Metrics
    # The frames just before and after each trade, per bot (trade_frames.py).
    trade_frames: TradeFrames

    async def publish(self, event: Event) -> None:
        """To every live client of every process."""
        await self.feed.publish(event)

    async def publish_trade(self, trade_id: int, trade: TradeEvent) -> TradeEntry:
        """Stream a committed trade; the summary follows, coalesced with other trades'."""
        self.metrics.count_trade(trade)
        return await self.feed.trade(trade_id, trade)

    async def hello(self) -> Event:
        """The typed stream's first event: workers, thumbnails, summary."""
        try:
            views, unavailable = await self.capture.workers(), None
        except AgentUnavailable as exc:
            views, unavailable = [], str(exc)
        summary = await run_in_threadpool(_summary_json, self.database, SNAPSHOT_TRADES)
        return hello_event(utcnow(), views, summary, unavailable)


@asynccontextmanager
async def open_services(
    settings: Settings, role: Role, metrics: Metrics | None = None
) -> AsyncIterator[Services]:
    metrics = metrics or Metrics()
    async with AsyncExitStack() as stack:
        # Held for the service's lifetime: `restore` refuses while it is.
        stack.enter_context(held_by_service(settings.resolved_database_url))
        database = Database(settings.resolved_database_url, settings.database_timeouts)
        stack.callback(database.dispose)
        await asyncio.to_thread(upgrade, database.url)
        uploads = FileStore(settings.uploads_dir)
        trade_frames = TradeFrames(settings.trade_screenshots_dir)
        if role.serves_http:
            uploads.ensure()
            uploads.sweep_incomplete()
        ledger = Ledger(database, settings.default_costs)
        writer = LedgerWriter(
            ledger, uploads, max_jobs=settings.writer_max_jobs, max_bytes=settings.writer_max_bytes
        )
        writer.start()
        # Bounded: what is not stored by then was never acknowledged.
        stack.callback(writer.close, settings.shutdown_timeout_seconds)
        channels = Channels(settings.bus_channel_prefix)
        bus = await stack.enter_async_context(bus_from_url(settings.bus_url))
        hub = await stack.enter_async_context(Hub(bus, channel=channels.events))
        feed = LiveFeed(hub, partial(_compact_summary, database), settings.summary_interval_seconds)
        feed.start()
        stack.push_async_callback(feed.stop)
        capture = await _open_capture(
            stack, role, settings, ledger, writer, feed, channels, metrics, trade_frames
        )
        snapshots = SnapshotStream(partial(_seed_snapshot, capture, database, ThumbnailCache()))
        await snapshots.start()
        stack.push_async_callback(snapshots.stop)
        services = Services(
            role=role,
            settings=settings,
            database=database,
            ledger=ledger,
            uploads=uploads,
            writer=writer,
            channels=channels,
            hub=hub,
            feed=feed,
            capture=capture,
            snapshots=snapshots,
            metrics=metrics,
            trade_frames=trade_frames,
        )
        if role.serves_http:
            await stack.enter_async_context(running(_retention_loop(services), "retention"))
            if settings.metrics_enabled:
                await stack.enter_async_context(running(_sampling_loop(services), "metrics"))
        yield services


async def _open_capture(
    stack: AsyncExitStack,
    role: Role,
    settings: Settings,
    ledger: Ledger,
    writer: LedgerWriter,
    feed: LiveFeed,
    channels: Channels,
    metrics: Metrics,
    trade_frames: TradeFrames,
) -> CaptureControl:
    if role is Role.API_WITH_AGENT:
        remote = RemoteCapture(feed.hub.bus, channels)
        stack.push_async_callback(remote.close)  # before connect: a failed connect stops too
        await remote.connect()
        logger.info("capture runs in a separate `trade-analysis agent` process")
        return remote
    settings.screenshots_dir.mkdir(parents=True, exist_ok=True)
    local = LocalCapture(
        CaptureManager(
            ledger,
            settings.screenshots_dir,
            ReadingSink(
                writer,
                notify=feed.notify_threadsafe,
                on_trade=partial(_count_and_publish, metrics, feed),
            ),
            probe=CaptureMetrics(metrics) if settings.metrics_enabled else None,
            trade_frames=trade_frames,
        )
    )
    stack.push_async_callback(local.close)
    # Bots that were capturing when the service stopped resume on their windows; then a
    # look every few seconds (stopped before `local.close`, which the stack runs after).
    await asyncio.to_thread(_resume, local.manager)
    if settings.resume_look_seconds > 0:
        loop = _resume_loop(local.manager, settings.resume_look_seconds)
        await stack.enter_async_context(running(loop, "resume"))
    return local


def _resume(manager: CaptureManager, periodic: bool = False) -> None:
    try:
        if periodic:
            manager.look_for_windows()
        else:
            manager.resume_saved()
    except CaptureUnavailable as exc:  # no display (yet): bots wait, capture still answers
        logger.debug("no windows to resume on: %s", exc)


async def _resume_loop(manager: CaptureManager, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(_resume, manager, True)
        except Exception:  # one failed look must not end the looking
            logger.exception("looking for the windows of waiting bots failed")


def _count_and_publish(metrics: Metrics, feed: LiveFeed, trade_id: int, trade: TradeEvent) -> None:
    """A capture thread's trade: counted, then streamed."""
    metrics.count_trade(trade)
    feed.trade_threadsafe(trade_id, trade)


# -- what the live streams read (blocking parts run in threads) ---------------------


def _summary_json(database: Database, recent_trades: int) -> dict[str, Any]:
    with database.reading() as session:
        return summary_json(queries.trade_summary(session, recent_trades))


def _compact_summary(database: Database) -> Event:
    now = utcnow()
    with database.reading() as session:
        held = queries.open_positions(session)
        return compact_summary_event(queries.ticker_totals(session, now, held), held, now)


async def _seed_snapshot(
    capture: CaptureControl, database: Database, thumbnails: ThumbnailCache
) -> Snapshot:
    try:
        views = await capture.workers()
        legacy = await capture.legacy_status()
    except AgentUnavailable:
        views, legacy = [], None
    summary = await run_in_threadpool(_summary_json, database, SNAPSHOT_TRADES)
    return seed_snapshot(utcnow(), views, legacy, summary, thumbnails)


# -- retention -------------------------------------------------------------------


def prune_once(services: Services) -> int:
    """One retention pass; returns how many rows went.

    Files go too: the images of pruned rows, screenshots older than the
    retention period (windows no longer captured keep their last ones
    otherwise), and uploads no row points at once they are older than
    `ORPHAN_GRACE_SECONDS` (a crash between writing the file and committing
    its rows; younger ones may still be on their way to a commit).
    """
    settings = services.settings
    cutoff = utcnow() - timedelta(days=settings.retention_days)
    removed = 0
    while True:
        with services.database.session() as session:
            count, images = retention.prune_batch(session, cutoff)
        for image in images:
            remove_data_file(settings.data_dir, image)
        removed += count
        if count < retention.BATCH:
            break
    old_screenshots = remove_files_older_than(
        settings.screenshots_dir, settings.retention_days * 86400, "*.jpg"
    )
    old_screenshots += services.trade_frames.remove_older_than(settings.retention_days * 86400)
    orphans = remove_orphan_uploads(services)
    if old_screenshots or orphans:
        logger.info("retention removed %d screenshots, %d orphan uploads", old_screenshots, orphans)
    return removed


def remove_orphan_uploads(services: Services) -> int:
    """Upload files older than the grace period that no row points at."""
    names = services.uploads.names_older_than(services.settings.orphan_grace_seconds)
    removed = 0
    for start in range(0, len(names), ORPHAN_BATCH):
        paths = {f"uploads/{name}" for name in names[start : start + ORPHAN_BATCH]}
        with services.database.reading() as session:
            orphans = retention.unreferenced(session, paths)
        removed += sum(remove_data_file(services.settings.data_dir, path) for path in orphans)
    return removed


async def _retention_loop(services: Services) -> None:
    while True:
        try:
            removed = await run_in_threadpool(prune_once, services)
            services.metrics.retention_deleted.inc(removed)
            if removed:
                logger.info(
                    "retention removed %d observations older than %s days",
                    removed,
                    services.settings.retention_days,
                )
        except Exception:  # keep pruning on later passes; one failure must not stop it
            logger.exception("retention pass failed")
        await asyncio.sleep(services.settings.retention_interval_seconds)


# -- metrics ---------------------------------------------------------------------

METRICS_SAMPLE_SECONDS = 1.0


def sample_live_metrics(services: Services) -> None:
    hub = services.hub
    services.metrics.sample_live(
        hub=hub.stats,
        bus_reconnects=hub.bus.reconnects,
        clients={"events": hub.client_count, "snapshots": services.snapshots.client_count},
        writer_queue_depth=services.writer.queue_depth,
    )


async def _sampling_loop(services: Services) -> None:
    """Each process samples its own gauges: with --workers any one of them answers /metrics."""
    while True:
        sample_live_metrics(services)
        await asyncio.sleep(METRICS_SAMPLE_SECONDS)
