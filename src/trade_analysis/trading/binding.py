"""Which bot a window belongs to: pure rules, no database, no windows.

A bot is a lasting thing (its key never changes); a window is only where it
reads from now. A window is recognised by its identity: the process that owns
it and its title stem (`analysis.title.title_stem`: the title without the
numbers that move). Binding a window picks, in this order:

1. the bot already bound to that window id, unless it knows another stem (the
   id was reused by another chart);
2. a bot with the same identity that no other running window holds, preferring
   the same process name (a bot migrated from window-id keys knows no process),
   then one without a window, then the most recently updated;
3. none: the caller creates one, named `<stem> (<process>)`, and `#2`, `#3`...
   after the name when that name is taken (two windows showing one chart).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from trade_analysis.analysis.title import title_stem
from trade_analysis.wire import BotState as BotState

MAX_KEY = 64
MAX_NAME = 255
_NOT_IN_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class WindowIdentity:
    process: str | None
    stem: str

    @classmethod
    def of(cls, process: str | None, title: str) -> WindowIdentity:
        return cls(process or None, title_stem(title))

    def default_name(self) -> str:
        stem = self.stem or "untitled window"
        return f"{stem} ({self.process})" if self.process else stem


@dataclass(frozen=True)
class BotCandidate:
    """A bot as binding sees it."""

    bot: str
    process: str | None
    stem: str | None
    hwnd: int | None
    updated_at: datetime | None = None

    def matches(self, identity: WindowIdentity) -> bool:
        same_process = self.process is None or self.process == identity.process
        return self.stem == identity.stem and same_process


def choose_bot(
    candidates: Iterable[BotCandidate],
    hwnd: int,
    identity: WindowIdentity,
    busy: Collection[str] = (),
) -> str | None:
    """The bot `hwnd` binds to, or None when a new one must be made.

    `busy`: bots capturing another window right now; two running windows never
    share a bot.
    """
    candidates = list(candidates)
    for candidate in candidates:
        if candidate.hwnd == hwnd and candidate.stem in (None, identity.stem):
            return candidate.bot
    free = [c for c in candidates if c.matches(identity) and c.bot not in busy]
    if not free:
        return None
    newest_first = sorted(free, key=_updated, reverse=True)
    best = min(newest_first, key=lambda c: (c.process != identity.process, c.hwnd is not None))
    return best.bot


def _updated(candidate: BotCandidate) -> float:
    return candidate.updated_at.timestamp() if candidate.updated_at is not None else 0.0


def unique_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name #2`, `#3`... when a bot already has it."""
    name = name[:MAX_NAME]
    if name not in taken:
        return name
    number = 2
    while f"{name} #{number}" in taken:
        number += 1
    return f"{name[: MAX_NAME - 8]} #{number}"


def new_bot_key(name: str, taken: Collection[str]) -> str:
    """A stable key from a name: lower-case words joined by `-` (`tsla-robinhood-firefox`),
    never all digits (those address windows), numbered when taken."""
    slug = _NOT_IN_KEY.sub("-", name.lower()).strip("-")[: MAX_KEY - 6].strip("-")
    if not slug or slug.isdigit():
        slug = f"bot-{slug}".strip("-")
    key, number = slug, 2
    while key in taken:
        key = f"{slug}-{number}"
        number += 1
    return key
