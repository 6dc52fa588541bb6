"""The hub's shared log of events: each event once, for every client that keeps up.

A client following the log holds a cursor: the position after the last entry
it took, counted from the hub's start (positions never repeat). Entries are
dropped from the front once every follower has taken them.
"""

from __future__ import annotations

from collections.abc import Hashable

from trade_analysis.live.events import EventType


class Entry:
    """One event in the log: its text, type and coalescing key, once for every client."""

    __slots__ = ("after", "key", "superseded", "text", "type")

    def __init__(self, text: str, event_type: EventType, key: Hashable | None, at: int) -> None:
        self.text = text
        self.type = event_type
        self.key = key
        self.after = at + 1
        """The cursor of a client that has taken this entry."""
        self.superseded = False
        """A newer entry with the same (droppable) key follows: skip this one."""


class EventLog:
    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._base = 0
        """Position of `_entries[0]`."""
        self._latest: dict[Hashable, Entry] = {}
        """The newest entry for each droppable key."""

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def end(self) -> int:
        """The cursor of a client that has taken every entry."""
        return self._base + len(self._entries)

    def append(self, text: str, event_type: EventType, key: Hashable | None) -> None:
        """Add an event; one with a key supersedes the entry with that key before it."""
        entry = Entry(text, event_type, key, self.end)
        if key is not None:
            latest = self._latest
            previous = latest.get(key)
            if previous is not None:
                previous.superseded = True
            latest[key] = entry
        self._entries.append(entry)

    def after(self, cursor: int) -> list[Entry]:
        """The entries a client at `cursor` has yet to take, in order."""
        return self._entries[cursor - self._base :]

    def drop_before(self, cursor: int) -> None:
        """Forget the entries before `cursor` (every follower has taken them)."""
        taken = cursor - self._base
        if taken <= 0:
            return
        entries = self._entries
        latest = self._latest
        for entry in entries[:taken]:
            key = entry.key
            if key is not None and latest.get(key) is entry:
                del latest[key]
        del entries[:taken]
        self._base = cursor

    def clear(self) -> None:
        self.drop_before(self.end)
