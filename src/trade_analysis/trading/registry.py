"""The bot registry: bots' settings, binding windows to bots (trading/binding.py's rules
applied to the rows), and what each bot wants of capture."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    insert,
    or_,
    select,
    update,
)

from trade_analysis.db import models
from trade_analysis.db.session import Database
from trade_analysis.db.statements import CoreStatements
from trade_analysis.domain import Side
from trade_analysis.trading.binding import (
    BotCandidate,
    WindowIdentity,
    choose_bot,
    new_bot_key,
    unique_name,
)
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.fills import FREE, Costs
from trade_analysis.trading.rows import (
    BOT_CAPTURE,
    BOTS,
    POSITIONS,
    AmbiguousPosition,
    BotCapture,
    BoundBot,
    CaptureWish,
    UnknownBot,
)
from trade_analysis.trading.working_set import working_set

logger = logging.getLogger(__name__)


class BotRegistry:
    """The bots: their settings, the window each reads from, what capture should do for
    them. Each call is one transaction."""

    def __init__(self, database: Database, default_costs: Costs = FREE) -> None:
        self._db = database
        # What a bot's costs are where its own settings leave one out (DEFAULT_* settings).
        self.default_costs = default_costs

    def save_bot_settings(self, bot: str, hwnd: int | None, changes: BotSettings) -> BotSettings:
        """Merge the given settings into what the bot has saved; returns the result."""
        with self._db.transaction() as connection:
            rows = working_set(CoreStatements(connection))
            rows.lock_bots({bot: None})
            if hwnd is not None and rows.bot(bot).hwnd is None:
                # A bot made for a window no other bot is bound to is bound to it.
                bound = connection.execute(select(BOTS.c.bot).where(BOTS.c.hwnd == hwnd)).first()
                if bound is None:
                    connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(hwnd=hwnd))
            saved = rows.bot(bot).settings().merge(changes)
            connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(meta=saved.to_meta()))
            rows.write_back()
            return saved

    def bot_settings(self, bot: str) -> BotSettings:
        """The settings saved for a bot (none for a bot never seen)."""
        with self._db.reading() as session:
            row = session.get(models.Bot, bot)
            return BotSettings.load(row.meta if row is not None else None)

    # -- bots: the window each reads from, and whether it should capture ------------

    def bind_window(
        self,
        hwnd: int,
        identity: WindowIdentity,
        *,
        busy: Collection[str] = (),
        bot: str | None = None,
        capture: CaptureWish | None = None,
        create: bool = False,
    ) -> BoundBot:
        """Bind a window to `bot`, or to the bot binding rules choose (trading/binding.py),
        creating one when none matches; the window's earlier bot lets go of it.

        With `capture`, the bot is to capture (at that interval) and is no longer paused.
        Raises UnknownBot for a `bot` that does not exist, unless `create` (a key
        `plan_binding` gave while the database could not be written).
        """
        with self._db.transaction() as connection:
            plan = _plan_binding(connection, hwnd, identity, busy, bot, create)
            values: dict[str, Any] = {"hwnd": hwnd, "stem": identity.stem}
            if identity.process is not None:
                values["process"] = identity.process
            if plan.name is not None:
                values["name"] = plan.name
            if capture is not None:
                values |= {"capturing": True, "paused": False, "interval": capture.interval}
            if not plan.exists:
                connection.execute(insert(BOTS).values(bot=plan.bot, total_pnl=Decimal(0), meta={}))
            connection.execute(
                update(BOTS).where(BOTS.c.hwnd == hwnd, BOTS.c.bot != plan.bot).values(hwnd=None)
            )
            connection.execute(update(BOTS).where(BOTS.c.bot == plan.bot).values(values))
            name = connection.execute(
                select(BOTS.c.name).where(BOTS.c.bot == plan.bot)
            ).scalar_one()
            logger.info(
                "window %#x bound to bot=%s (%s)", hwnd, plan.bot, name, extra={"bot": plan.bot}
            )
            return BoundBot(bot=plan.bot, name=name, created=not plan.exists)

    def plan_binding(
        self,
        hwnd: int,
        identity: WindowIdentity,
        *,
        busy: Collection[str] = (),
        bot: str | None = None,
    ) -> str:
        """The bot `bind_window` would bind, by reading only (a new key when it would make
        one): capture can start while the database cannot be written, and bind later."""
        with self._db.reading() as session:
            return _plan_binding(session.connection(), hwnd, identity, busy, bot, False).bot

    def bot_for_window(self, hwnd: int) -> str | None:
        """The bot bound to this window now, if any."""
        with self._db.reading() as session:
            return session.scalar(select(BOTS.c.bot).where(BOTS.c.hwnd == hwnd))

    def set_capture_state(
        self,
        bot: str,
        *,
        capturing: bool | None = None,
        paused: bool | None = None,
        unbind: bool = False,
        interval: float | None = None,
    ) -> bool:
        """Change what the bot wants (capture, pause, how often) or let go of its window;
        False when there is no such bot."""
        values: dict[str, Any] = {} if interval is None else {"interval": interval}
        if capturing is not None:
            values["capturing"] = capturing
        if paused is not None:
            values["paused"] = paused
        if unbind:
            values["hwnd"] = None
        with self._db.transaction() as connection:
            result = connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(values))
            return bool(result.rowcount)

    def bots_to_resume(self) -> list[BotCapture]:
        """Bots that should capture (and are not paused) and know which window they want."""
        with self._db.reading() as session:
            rows = session.execute(
                BOT_CAPTURE.where(
                    BOTS.c.capturing.is_(True), BOTS.c.paused.is_(False), BOTS.c.stem.is_not(None)
                )
            ).all()
        return [BotCapture.from_row(row) for row in rows]

    def bot_capture(self, bot: str) -> BotCapture | None:
        """What the bot wants of capture; None for an unknown bot."""
        with self._db.reading() as session:
            row = session.execute(BOT_CAPTURE.where(BOTS.c.bot == bot)).first()
        return BotCapture.from_row(row) if row is not None else None

    def rename_bot(self, bot: str, name: str) -> bool:
        with self._db.transaction() as connection:
            result = connection.execute(update(BOTS).where(BOTS.c.bot == bot).values(name=name))
            return bool(result.rowcount)

    def delete_bot(self, bot: str) -> bool:
        """Remove the bot's row; its trades, records and positions stay in the ledger."""
        with self._db.transaction() as connection:
            result = connection.execute(delete(BOTS).where(BOTS.c.bot == bot))
            return bool(result.rowcount)


@dataclass(frozen=True)
class _BindingPlan:
    bot: str
    name: str | None  # a name to give it: a new bot, or one that knew no window
    exists: bool


def _plan_binding(
    connection: Connection,
    hwnd: int,
    identity: WindowIdentity,
    busy: Collection[str],
    bot: str | None,
    create: bool,
) -> _BindingPlan:
    if bot is None:
        bot = choose_bot(_candidates(connection, hwnd, identity), hwnd, identity, busy)
    row = None
    if bot is not None:
        row = connection.execute(select(BOTS.c.name, BOTS.c.stem).where(BOTS.c.bot == bot)).first()
        if row is None and not create:
            raise UnknownBot(bot)
    name = None
    if row is None or row.stem is None or row.name is None:
        name = unique_name(identity.default_name(), _names(connection))
    if bot is None:
        bot = new_bot_key(name or identity.default_name(), _keys(connection))
    return _BindingPlan(bot, name, row is not None)


def _candidates(connection: Connection, hwnd: int, identity: WindowIdentity) -> list[BotCandidate]:
    """The bots a window could bind to: the one bound to it, those with its stem."""
    rows = connection.execute(
        select(BOTS.c.bot, BOTS.c.process, BOTS.c.stem, BOTS.c.hwnd, BOTS.c.updated_at).where(
            or_(BOTS.c.hwnd == hwnd, BOTS.c.stem == identity.stem)
        )
    )
    return [BotCandidate(row.bot, row.process, row.stem, row.hwnd, row.updated_at) for row in rows]


def _names(connection: Connection) -> set[str]:
    return {name for name in connection.execute(select(BOTS.c.name)).scalars() if name}


def _keys(connection: Connection) -> set[str]:
    return set(connection.execute(select(BOTS.c.bot)).scalars())


def bot_for_manual(connection: Connection, ticker: str, side: Side) -> str:
    """Which bot a manual order without one belongs to."""
    if side is Side.BUY:
        return "manual"
    holders = (
        connection.execute(
            select(POSITIONS.c.bot).where(
                POSITIONS.c.ticker == ticker, POSITIONS.c.is_long.is_(True)
            )
        )
        .scalars()
        .all()
    )
    if len(holders) > 1:
        raise AmbiguousPosition(
            f"{ticker} is held by several bots ({', '.join(sorted(holders))}); "
            "say which one with 'bot'"
        )
    return holders[0] if holders else "manual"
