"""What the service tells live clients: events through the hub, and summaries after trades.

A `summary` follows trades at most every `interval` seconds (one read of the
totals for a burst of trades, `Coalescer`), the same in the API process and
in the capture agent. Trades themselves are published one by one, never merged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from trade_analysis.live.coalesce import Coalescer
from trade_analysis.live.events import Event, EventType
from trade_analysis.live.hub import Hub
from trade_analysis.live.payloads import trade_entry, trade_event
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.wire import EventData, TradeEntry

# Open positions are re-marked (a `summary` with new unrealised P&L) at most this often
# while prices are read without trading: one read of the positions whatever the number of bots.
MARK_INTERVAL_SECONDS = 1.0


class LiveFeed:
    """Publishes on a running hub; `start` runs the summary coalescers, `stop` ends them."""

    def __init__(
        self,
        hub: Hub,
        read_summary: Callable[[], Event],
        interval: float,
        mark_interval: float = MARK_INTERVAL_SECONDS,
    ) -> None:
        """`read_summary` is blocking (a database read): it runs in a thread."""
        self.hub = hub
        self._read_summary = read_summary
        self._summaries = Coalescer(self._publish_summary, interval)
        # The same summary after prices were read: open positions' marks moved.
        self._marks = Coalescer(self._publish_summary, max(interval, mark_interval))

    def start(self) -> None:
        self._summaries.start()
        self._marks.start()

    async def stop(self) -> None:
        await self._summaries.stop()
        await self._marks.stop()

    def prices_moved(self) -> None:
        """A price was read without a trade (from the event loop's thread)."""
        self._marks.poke()

    async def publish(self, event: Event) -> None:
        """To every live client of every process."""
        await self.hub.publish(event)

    def notify_threadsafe(self, data: EventData) -> None:
        """`publish` from a capture thread, without waiting for delivery."""
        event = Event.of(data)
        self.hub.publish_threadsafe(event)
        if event.type == EventType.OBSERVATION:
            self._marks.poke_threadsafe()

    async def trade(self, trade_id: int, trade: TradeEvent) -> TradeEntry:
        """Stream a committed trade; the summary follows (coalesced with other trades')."""
        entry = trade_entry(trade_id, trade)
        await self.publish(trade_event(entry))
        self._summaries.poke()
        return entry

    def trade_threadsafe(self, trade_id: int, trade: TradeEvent) -> None:
        """`trade` from a capture thread."""
        self.hub.publish_threadsafe(trade_event(trade_entry(trade_id, trade)))
        self._summaries.poke_threadsafe()

    async def _publish_summary(self) -> None:
        await self.publish(await asyncio.to_thread(self._read_summary))
