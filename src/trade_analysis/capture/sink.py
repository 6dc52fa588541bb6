"""Where capture sends what it reads and what it tells: one object for the manager.

A worker's reading is stored (the ledger, or its group-commit writer), live
clients are told of workers, frames and readings, and a trade a reading caused
is streamed. `ReadingSink` joins the three; tests and benches leave out what
they do not watch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from trade_analysis.trading.ledger import ObservationInput, ObservationSink, StoredObservation
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.wire import EventData


class CaptureSink(Protocol):
    """Called from workers' threads (and from requests' threads for `notify`)."""

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation: ...

    def notify(self, data: EventData) -> None: ...

    def traded(self, trade_id: int, trade: TradeEvent) -> None: ...


def _ignore_event(_data: EventData) -> None:
    return None


def _ignore_trade(_trade_id: int, _trade: TradeEvent) -> None:
    return None


class ReadingSink:
    """Observations to `observations`; events to `notify`; committed trades to `on_trade`."""

    def __init__(
        self,
        observations: ObservationSink,
        notify: Callable[[EventData], None] = _ignore_event,
        on_trade: Callable[[int, TradeEvent], None] = _ignore_trade,
    ) -> None:
        self._observations = observations
        self._notify = notify
        self._on_trade = on_trade

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation:
        return self._observations.record_observation(observation, as_history=as_history)

    def notify(self, data: EventData) -> None:
        self._notify(data)

    def traded(self, trade_id: int, trade: TradeEvent) -> None:
        self._on_trade(trade_id, trade)
