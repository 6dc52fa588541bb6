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
from trade_analysis.api.schemas import TradeEntry
from trade_analysis.capture.agent import Channels, RemoteCapture
from trade_analysis.capture.control import CaptureControl, LocalCapture
from trade_analysis.capture.errors import AgentUnavailable
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.config import Settings
from trade_analysis.db import queries, retention
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import utcnow
from trade_analysis.live import Event, Hub, bus_from_url
from trade_analysis.live.feed import LiveFeed
from trade_analysis.live.payloads import (
    SNAPSHOT_TRADES,
    compact_summary_event,
    hello_event,
    seed_snapshot,
    summary_json,
)
from trade_analysis.live.snapshots import Snapshot, SnapshotStream, ThumbnailCache
from trade_analysis.storage import FileStore, remove_data_file
from trade_analysis.trading.ledger import Ledger
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.trading.writer import LedgerWriter

logger = logging.getLogger(__name__)


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

    async def publish(self, event: Event) -> None:
        """To every live client of every process."""
        await self.feed.publish(event)

    async def publish_trade(self, trade_id: int, trade: TradeEvent) -> TradeEntry:
        """Stream a committed trade; the summary follows, coalesced with other trades'."""
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
async def open_services(settings: Settings, role: Role) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        database = Database(settings.resolved_database_url)
        stack.callback(database.dispose)
        await asyncio.to_thread(upgrade, database.url)
        uploads = FileStore(settings.uploads_dir)
        if role.serves_http:
            uploads.ensure()
            uploads.sweep_incomplete()
        ledger = Ledger(database)
        writer = LedgerWriter(ledger, uploads)
        writer.start()
        stack.callback(writer.close)
        channels = Channels(settings.bus_channel_prefix)
        bus = await stack.enter_async_context(bus_from_url(settings.bus_url))
        hub = await stack.enter_async_context(Hub(bus, channel=channels.events))
        feed = LiveFeed(hub, partial(_compact_summary, database), settings.summary_interval_seconds)
        feed.start()
        stack.push_async_callback(feed.stop)
        capture = await _open_capture(stack, role, settings, ledger, writer, feed, channels)
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
        )
        if role.serves_http:
            await stack.enter_async_context(running(_retention_loop(services), "retention"))
        yield services


async def _open_capture(
    stack: AsyncExitStack,
    role: Role,
    settings: Settings,
    ledger: Ledger,
    writer: LedgerWriter,
    feed: LiveFeed,
    channels: Channels,
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
            notify=feed.notify_threadsafe,
            on_trade=feed.trade_threadsafe,
            observations=writer,
        )
    )
    stack.push_async_callback(local.close)
    return local


# -- what the live streams read (blocking parts run in threads) ---------------------


def _summary_json(database: Database, recent_trades: int) -> dict[str, Any]:
    with database.reading() as session:
        return summary_json(queries.trade_summary(session, recent_trades))


def _compact_summary(database: Database) -> Event:
    with database.reading() as session:
        return compact_summary_event(queries.ticker_totals(session))


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
    """One retention pass; returns how many rows went."""
    cutoff = utcnow() - timedelta(days=services.settings.retention_days)
    removed = 0
    while True:
        with services.database.session() as session:
            count, images = retention.prune_batch(session, cutoff)
        for image in images:
            remove_data_file(services.settings.data_dir, image)
        removed += count
        if count < retention.BATCH:
            return removed


async def _retention_loop(services: Services) -> None:
    while True:
        try:
            removed = await run_in_threadpool(prune_once, services)
            if removed:
                logger.info(
                    "retention removed %d observations older than %s days",
                    removed,
                    services.settings.retention_days,
                )
        except Exception:  # keep pruning on later passes; one failure must not stop it
            logger.exception("retention pass failed")
        await asyncio.sleep(services.settings.retention_interval_seconds)
