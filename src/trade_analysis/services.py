"""What the app's lifespan builds from settings and routes use: no module-level state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from trade_analysis.capture.agent import Channels, RemoteCapture
from trade_analysis.capture.control import CaptureControl, LocalCapture
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.config import Settings
from trade_analysis.db.session import Database
from trade_analysis.live import Event, EventType, Hub, bus_from_url
from trade_analysis.live.coalesce import Coalescer
from trade_analysis.storage import FileStore
from trade_analysis.trading.ledger import Ledger
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.trading.writer import LedgerWriter

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    database: Database
    ledger: Ledger
    uploads: FileStore
    hub: Hub | None = None
    # Summary events after trades: one database read per burst of trades, not one per trade.
    summaries: Coalescer | None = None
    capture: CaptureControl = field(init=False)
    writer: LedgerWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = LedgerWriter(
            self.ledger,
            self.uploads,
            max_jobs=self.settings.writer_max_jobs,
            max_bytes=self.settings.writer_max_bytes,
        )
        self.capture = LocalCapture(
            CaptureManager(
                self.ledger,
                self.settings.screenshots_dir,
                notify=self.notify_threadsafe,
                on_trade=self._trade_from_thread,
                observations=self.writer,
            )
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        database = Database(settings.resolved_database_url, settings.database_timeouts)
        uploads = FileStore(settings.uploads_dir)
        return cls(settings=settings, database=database, ledger=Ledger(database), uploads=uploads)

    async def start_live(self) -> None:
        bus = bus_from_url(self.settings.bus_url)
        await bus.connect()
        channels = Channels(self.settings.bus_channel_prefix)
        self.hub = Hub(bus, channel=channels.events)
        await self.hub.start()
        self.summaries = Coalescer(self._publish_summary, self.settings.summary_interval_seconds)
        self.summaries.start()
        if self.settings.capture_mode == "agent":
            remote = RemoteCapture(bus, channels)
            await remote.connect()
            self.capture = remote
            logger.info("capture runs in a separate `trade-analysis agent` process")

    async def stop_live(self) -> None:
        await self.capture.close()
        if self.summaries is not None:
            await self.summaries.stop()
            self.summaries = None
        if self.hub is not None:
            await self.hub.stop()
            await self.hub.bus.disconnect()
            self.hub = None

    async def publish(self, event: Event) -> None:
        """To every live client of every process; events before the hub starts go nowhere."""
        if self.hub is not None:
            await self.hub.publish(event)

    def notify_threadsafe(self, event_type: str, data: dict[str, Any]) -> None:
        """`publish` from a capture thread, without waiting for delivery."""
        if self.hub is not None:
            self.hub.publish_threadsafe(Event(EventType(event_type), data))

    def _trade_from_thread(self, trade_id: int, trade: TradeEvent) -> None:
        # Imported here: live_state builds on this module (it reads Services).
        from trade_analysis.live_state import trade_entry, trade_event

        if self.hub is not None:
            self.hub.publish_threadsafe(trade_event(trade_entry(trade_id, trade)))
        if self.summaries is not None:
            self.summaries.poke_threadsafe()

    async def _publish_summary(self) -> None:
        from trade_analysis.live_state import compact_summary

        summary = await run_in_threadpool(compact_summary, self.database)
        await self.publish(Event(EventType.SUMMARY, summary))

    def close(self) -> None:
        self.writer.close(timeout=self.settings.shutdown_timeout_seconds)
        self.database.dispose()
