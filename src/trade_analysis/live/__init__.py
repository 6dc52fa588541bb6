"""Live stream core: typed events, the pub/sub bus and the WebSocket fan-out hub.

Transport-independent: nothing here imports FastAPI or Starlette.
"""

from __future__ import annotations

from trade_analysis.live.bus import (
    Bus,
    BusUnavailable,
    MemoryBus,
    RedisBus,
    Subscription,
    bus_from_url,
)
from trade_analysis.live.channels import Channels
from trade_analysis.live.events import (
    NEVER_DROPPED,
    Event,
    EventType,
    InvalidEvent,
    coalesce_key,
    parse_topics,
)
from trade_analysis.live.hub import (
    DEFAULT_CHANNEL,
    GOING_AWAY,
    TRY_AGAIN_LATER,
    ClientHandle,
    Hub,
    HubStats,
    LiveClient,
)

__all__ = [
    "DEFAULT_CHANNEL",
    "GOING_AWAY",
    "NEVER_DROPPED",
    "TRY_AGAIN_LATER",
    "Bus",
    "BusUnavailable",
    "Channels",
    "ClientHandle",
    "Event",
    "EventType",
    "Hub",
    "HubStats",
    "InvalidEvent",
    "LiveClient",
    "MemoryBus",
    "RedisBus",
    "Subscription",
    "bus_from_url",
    "coalesce_key",
    "parse_topics",
]
