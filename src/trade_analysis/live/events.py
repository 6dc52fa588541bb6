"""The typed live stream's events: `{"type": ..., "data": ...}` on the wire.

An `Event` is encoded once (`to_json`) by whoever publishes it and the same
text travels over the bus and to every WebSocket client.

Two delivery classes:

* never dropped: `hello`, `trade`, `error` - a client that cannot take them
  in time is disconnected (and resyncs through `hello` when it reconnects);
* droppable, newest wins: `snapshot`, `frame`, `worker`, `summary`,
  `observation`, `bot` - a client that is behind gets the latest event of
  each *coalescing key* instead of a backlog. The key is the type plus the
  entity the event is about, read from `data`: `hwnd` (a captured window),
  `bot_id` / `bot` (a bot; a dict is keyed by its `id`) and `id`. Producers
  should put those fields in `data` so that two windows' frames do not
  replace each other.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trade_analysis.wire import EventData, event_type_of
from trade_analysis.wire import EventType as EventType

#: Events a client must receive or be disconnected; never coalesced.
NEVER_DROPPED: frozenset[EventType] = frozenset({EventType.HELLO, EventType.TRADE, EventType.ERROR})

#: Fields of `data` naming the entity a droppable event is about, in key order.
KEY_FIELDS: tuple[str, ...] = ("hwnd", "bot_id", "bot", "id")

_SEPARATORS = (",", ":")


class InvalidEvent(ValueError):
    """A text that is not a `{"type": <EventType>, "data": {...}}` object."""


def _key_part(value: Any) -> Hashable:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str | int):
            return ident
    # Anything else (a list, a dict without an id): its canonical JSON text.
    return json.dumps(value, sort_keys=True, separators=_SEPARATORS, default=str)


def coalesce_key(event_type: EventType, data: dict[str, Any]) -> Hashable | None:
    """The key under which a droppable event replaces an older one; None if never dropped."""
    if event_type in NEVER_DROPPED:
        return None
    return (event_type.value, *(_key_part(data.get(name)) for name in KEY_FIELDS))


@dataclass(frozen=True, slots=True)
class Event:
    """One message of the typed stream. `data` must already be JSON-safe."""

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, data: EventData) -> Event:
        """The event whose `data` is this model (its type follows from the model)."""
        return cls(event_type_of(data), data.model_dump(mode="json"))

    def to_json(self) -> str:
        """The wire text, compact: `{"type":"trade","data":{...}}`."""
        return json.dumps(
            {"type": self.type.value, "data": self.data},
            separators=_SEPARATORS,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """Parse wire text; raises `InvalidEvent` saying what is wrong."""
        try:
            raw = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise InvalidEvent(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise InvalidEvent("an event must be a JSON object with 'type' and 'data'")
        try:
            event_type = EventType(str(raw.get("type")))
        except ValueError:
            raise InvalidEvent(
                f"unknown event type {raw.get('type')!r}; expected one of "
                f"{', '.join(t.value for t in EventType)}"
            ) from None
        data = raw.get("data", {})
        if not isinstance(data, dict):
            raise InvalidEvent("'data' must be a JSON object")
        return cls(event_type, data)

    @property
    def droppable(self) -> bool:
        return self.type not in NEVER_DROPPED

    @property
    def key(self) -> Hashable | None:
        """See `coalesce_key`."""
        return coalesce_key(self.type, self.data)


def parse_topics(value: Any) -> frozenset[EventType]:
    """Read the `data` of a client's `{"type":"subscribe","data":[...]}` request.

    Raises `InvalidEvent` naming the unknown types, so the route can answer
    with an `error` event instead of disconnecting the client.
    """
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidEvent("subscribe expects a list of event types")
    topics: set[EventType] = set()
    unknown: list[str] = []
    for item in value:
        try:
            topics.add(EventType(item))
        except ValueError:
            unknown.append(repr(item))
    if unknown:
        raise InvalidEvent(
            f"unknown event type(s) {', '.join(unknown)}; expected any of "
            f"{', '.join(t.value for t in EventType)}"
        )
    return frozenset(topics)
