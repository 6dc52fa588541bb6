"""The resume waiting room: bots that should capture but have no window yet.

A bot waits when its window is gone (its stopped worker stays listed, parked under
the old window, until the bot resumes) or when it was capturing as the service
stopped. Each look (every RESUME_LOOK_SECONDS, and once at start) lists the windows
through a source kept open between looks and pairs each free window with the first
waiting bot of its identity (same process first). The capture manager owns the room
and starts the workers; the room only remembers who waits and finds their windows.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator

from trade_analysis.capture.frame import WindowInfo
from trade_analysis.capture.sources.base import WindowSource
from trade_analysis.trading.binding import WindowIdentity
from trade_analysis.trading.ledger import BotCapture

# Titles repeat from one look to the next: each is reduced to its stem once.
_stem_of = functools.lru_cache(maxsize=4096)(WindowIdentity.of)


class WindowResumer:
    """Who waits for a window, which worker each left parked, and the looks' window source."""

    def __init__(self, source_factory: Callable[[], WindowSource]) -> None:
        self._source_factory = source_factory
        self._lock = threading.Lock()
        # Bots that should capture but have no window yet, by key.
        self._waiting: dict[str, BotCapture] = {}
        # A waiting bot's stopped worker, listed under its old window until it resumes.
        self._parked: dict[str, int] = {}
        # The looks' own window source, kept open between looks (opening one costs
        # about as much as the listing); one look at a time uses it.
        self._look_source: WindowSource | None = None
        self._look_lock = threading.Lock()

    def wait(self, bot: BotCapture, parked: int | None = None) -> None:
        """The bot waits for its window; `parked`: the window of its stopped worker."""
        with self._lock:
            self._waiting[bot.bot] = bot
            if parked is not None:
                self._parked[bot.bot] = parked

    def wait_all(self, bots: Iterable[BotCapture]) -> None:
        with self._lock:
            self._waiting.update({bot.bot: bot for bot in bots})

    def leave(self, bot: str) -> int | None:
        """The bot waits no more (it has a window, or no longer wants one); returns the
        window its parked worker is listed under, if any."""
        with self._lock:
            self._waiting.pop(bot, None)
            return self._parked.pop(bot, None)

    def clear(self) -> set[str]:
        """No bot waits any more; returns those that did."""
        with self._lock:
            bots = set(self._waiting)
            self._waiting.clear()
            self._parked.clear()
            return bots

    def waiting(self) -> list[BotCapture]:
        with self._lock:
            return list(self._waiting.values())

    def list_windows(self) -> list[WindowInfo]:
        with self._look_lock:
            if self._look_source is None:
                self._look_source = self._source_factory()
            try:
                return self._look_source.list_windows()
            except Exception:
                # A broken connection (the X server restarted): a new one next time.
                self._close_look_source()
                raise

    def close(self) -> None:
        with self._look_lock:
            self._close_look_source()

    def _close_look_source(self) -> None:
        source, self._look_source = self._look_source, None
        if source is not None:
            source.close()


def matches(
    waiting: list[BotCapture], windows: list[WindowInfo], busy: set[int]
) -> Iterator[tuple[WindowInfo, BotCapture]]:
    """Each free window with the first waiting bot it suits, in the windows' order."""
    wanted = _by_identity(waiting)
    for window in windows:
        if window.hwnd in busy:
            continue
        bot = _take_match(wanted, _stem_of(window.process, window.title))
        if bot is not None:
            yield window, bot


def _by_identity(waiting: list[BotCapture]) -> dict[tuple[str | None, str], list[BotCapture]]:
    """Waiting bots by (process, stem); a bot that knows no process under (None, stem)."""
    wanted: dict[tuple[str | None, str], list[BotCapture]] = {}
    for bot in waiting:
        if bot.identity is not None:
            wanted.setdefault((bot.identity.process, bot.identity.stem), []).append(bot)
    return wanted


def _take_match(
    wanted: dict[tuple[str | None, str], list[BotCapture]], identity: WindowIdentity
) -> BotCapture | None:
    """The first waiting bot this window suits (same process first), taken off the list."""
    for key in ((identity.process, identity.stem), (None, identity.stem)):
        bots = wanted.get(key)
        if bots:
            return bots.pop(0)
    return None
