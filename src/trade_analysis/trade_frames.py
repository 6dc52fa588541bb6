"""Trade screenshots: the frames a bot saw just before and just after each trade.

Every frame a bot reads (a capture's JPEG thumbnail, an upload's stored image)
enters a small ring of that bot's newest frames (`FRAMES_AROUND` of them). A
trade copies the ring beside it (`before`, the frame that traded being the
newest) and takes the bot's next `FRAMES_AROUND` frames (`after`). Memory is
bounded: a few encoded frames per bot, for at most `MAX_BOTS` bots (the least
recently seen is forgotten first).

Files live under `<data dir>/trade_screenshots/<trade id>/` and are named by
the service only (`buy_before_01_20260723_193000_512.jpg`): side, when, order
and capture time. A path from a request reaches the filesystem only when it
has exactly that shape and resolves inside the folder (`resolve`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trade_analysis.storage import remove_files_older_than

logger = logging.getLogger(__name__)

FRAMES_AROUND = 5
MAX_BOTS = 256
FOLDER = "trade_screenshots"
_STAMP = "%Y%m%d_%H%M%S"
_RELATIVE = re.compile(
    r"^(?P<trade>[1-9][0-9]{0,18})/"
    r"(?P<side>buy|sell)_(?P<when>before|after)_(?P<order>[0-9]{2})_"
    r"(?P<stamp>[0-9]{8}_[0-9]{6}_[0-9]{3})\.(?P<ext>jpg|png|webp)$"
)


@dataclass(frozen=True)
class SeenFrame:
    """One frame a bot read: its encoded bytes, or the stored file holding them."""

    at: datetime
    extension: str
    data: bytes | None = None
    source: Path | None = None


@dataclass(frozen=True)
class TradeFrame:
    """A kept frame of a trade, as listed."""

    trade_id: int
    side: str
    when: str  # "before" | "after"
    order: int
    at: datetime
    path: str  # relative to the trade screenshots folder

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def stamp(self) -> str:
        """The capture time as the original named its files: `YYYYMMDD_HHMMSS_mmm` (UTC)."""
        return f"{self.at.strftime(_STAMP)}_{self.at.microsecond // 1000:03d}"


@dataclass
class _Following:
    trade_id: int
    side: str
    left: int = FRAMES_AROUND


@dataclass
class _BotFrames:
    ring: deque[SeenFrame] = field(default_factory=lambda: deque(maxlen=FRAMES_AROUND))
    following: list[_Following] = field(default_factory=list)


class TradeFrames:
    """The rings of recent frames per bot, and the folders of frames kept per trade.

    Thread-safe: capture threads and upload handlers call it at once."""

    def __init__(self, root: Path, *, around: int = FRAMES_AROUND, max_bots: int = MAX_BOTS):
        self.root = root
        self._around = around
        self._max_bots = max_bots
        self._bots: OrderedDict[str, _BotFrames] = OrderedDict()
        self._lock = threading.Lock()

    # -- recording ------------------------------------------------------------

    def seen(self, bot: str, frame: SeenFrame) -> None:
        """A frame the bot read: into its ring, and kept for trades waiting for it."""
        with self._lock:
            frames = self._bot(bot)
            frames.ring.append(frame)
            due, frames.following = frames.following, []
            for following in due:
                order = self._around - following.left + 1
                self._write(following.trade_id, following.side, "after", order, frame)
                following.left -= 1
                if following.left > 0:
                    frames.following.append(following)

    def traded(self, bot: str, trade_id: int, side: str) -> None:
        """A trade: the ring is kept as its `before`, its next frames as its `after`."""
        with self._lock:
            frames = self._bot(bot)
            for order, frame in enumerate(frames.ring, start=1):
                self._write(trade_id, side, "before", order, frame)
            frames.following.append(_Following(trade_id, side, self._around))

    def forget(self, bot: str) -> None:
        with self._lock:
            self._bots.pop(bot, None)

    def forget_all(self) -> None:
        with self._lock:
            self._bots.clear()

    def _bot(self, bot: str) -> _BotFrames:
        frames = self._bots.pop(bot, None) or _BotFrames(ring=deque(maxlen=self._around))
        self._bots[bot] = frames  # the newest at the end; the least recently seen goes first
        while len(self._bots) > self._max_bots:
            self._bots.popitem(last=False)
        return frames

    def _write(self, trade_id: int, side: str, when: str, order: int, frame: SeenFrame) -> None:
        at = frame.at.astimezone(UTC)
        name = f"{side}_{when}_{order:02d}_{at.strftime(_STAMP)}_{at.microsecond // 1000:03d}"
        folder = self.root / str(int(trade_id))
        target = folder / f"{name}.{frame.extension}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if frame.data is not None:
                temporary = folder / f".incoming-{target.name}"
                temporary.write_bytes(frame.data)
                os.replace(temporary, target)
            elif frame.source is not None:
                _link_or_copy(frame.source, target)
        except OSError as exc:  # a full disk or a pruned upload must not stop trading
            logger.warning("trade %d: frame %s not kept: %s", trade_id, target.name, exc)

    # -- reading --------------------------------------------------------------

    def frames(self, trade_ids: Iterable[int]) -> list[TradeFrame]:
        """The kept frames of these trades, oldest first."""
        found = []
        for trade_id in trade_ids:
            folder = self.root / str(int(trade_id))
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for entry in os.scandir(folder):
                    frame = _parse(f"{int(trade_id)}/{entry.name}")
                    if frame is not None and entry.is_file(follow_symlinks=False):
                        found.append(frame)
        return sorted(found, key=lambda f: (f.at, f.trade_id, f.when == "after", f.order))

    def resolve(self, relative: str) -> Path | None:
        """The file a request names, only if the service could have named it and it exists."""
        if _parse(relative) is None:
            return None
        root = self.root.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    # -- pruning --------------------------------------------------------------

    def remove_trades(self, trade_ids: Iterable[int]) -> int:
        """Delete the frames of these trades (their bot was deleted); how many folders went."""
        removed = 0
        for trade_id in trade_ids:
            folder = self.root / str(int(trade_id))
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def remove_older_than(self, seconds: float) -> int:
        """Retention: frames older than `seconds`, and the trade folders left empty."""
        if not self.root.is_dir():
            return 0
        removed = remove_files_older_than(self.root, seconds)
        for folder in self.root.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir() and not folder.is_symlink():
                    folder.rmdir()  # only when empty
        return removed


def _link_or_copy(source: Path, target: Path) -> None:
    """A stored upload kept with a trade: a hard link (no bytes copied, and pruning the
    upload leaves the trade's name in place), else a copy (another file system)."""
    with contextlib.suppress(FileNotFoundError):
        target.unlink()  # a frame kept again under the same name: the newest wins
    try:
        os.link(source, target)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        shutil.copyfile(source, target)


def _parse(relative: str) -> TradeFrame | None:
    match = _RELATIVE.fullmatch(relative)
    if match is None:
        return None
    try:
        stamp = datetime.strptime(match["stamp"][:15], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    at = stamp.replace(microsecond=int(match["stamp"][16:]) * 1000)
    return TradeFrame(
        trade_id=int(match["trade"]),
        side=match["side"],
        when=match["when"],
        order=int(match["order"]),
        at=at,
        path=relative,
    )
