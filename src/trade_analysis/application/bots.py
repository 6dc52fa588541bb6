"""Bots: list, rename or move, save settings, pause and resume, close positions, delete.

A use case reads as a story: resolve the bot, stop its worker, delete its rows,
remove its files, publish the event.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from trade_analysis.capture import commands
from trade_analysis.capture.errors import AgentUnavailable, CaptureError, UnknownWorker, http_status
from trade_analysis.capture.schemas import (
    MAX_HWND,
    BotCaptureState,
    BotRequest,
    MoveBotRequest,
    StopRequest,
)
from trade_analysis.db import models, queries
from trade_analysis.domain import utcnow
from trade_analysis.live import Event
from trade_analysis.services import Services
from trade_analysis.storage import upload_url
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.ledger import BotCapture, UnknownBot
from trade_analysis.trading.original_fields import (
    OriginalBotFields,
    rules_from_fields,
    touches_rules,
)
from trade_analysis.valuation import OpenPosition as Held
from trade_analysis.valuation import unrealised_total
from trade_analysis.wire import (
    BotDeleted,
    BotPublic,
    BotReading,
    BotRenamed,
    BotSettingsPublic,
    ClosedPositions,
    Deleted,
    OpenPosition,
)


def bot_public(bot: models.Bot, held: Sequence[Held], now: datetime) -> BotPublic:
    """A bot's row with every open position of its own, marked to market."""
    mine = [position for position in held if position.bot == bot.bot]
    newest = max(mine, key=_entry_order, default=None)
    return BotPublic(
        bot=bot.bot,
        hwnd=bot.hwnd,
        name=bot.name,
        ticker=bot.ticker,
        total_pnl=bot.total_pnl,
        positions=[
            OpenPosition(
                ticker=position.ticker,
                entry_price=position.entry_price,
                entry_time=position.entry_time,
            )
            for position in mine
        ],
        open_direction="long" if newest else None,
        open_price=newest.entry_price if newest else None,
        open_time=newest.entry_time if newest else None,
        meta=bot.meta or {},
        updated_at=bot.updated_at,
        unrealised_pnl=unrealised_total(mine),
        open_positions=[position.marked(now) for position in mine],
        process=bot.process,
        stem=bot.stem,
        interval=bot.interval,
        state=BotCapture.from_row(bot).state,
        last_reading=_last_reading(bot.last_signal),
    )


def _last_reading(saved: dict[str, Any] | None) -> BotReading | None:
    if not saved or "ticker" not in saved:
        return None
    try:
        return BotReading.model_validate(
            {**saved, "image_url": upload_url(saved.get("image_path"))}
        )
    except ValidationError:  # written by an older version, or damaged: not shown
        return None


def _entry_order(position: Held) -> datetime:
    return position.entry_time or datetime.min.replace(tzinfo=UTC)


def all_bots(services: Services) -> list[BotPublic]:
    """Every bot with its totals and open positions: one read."""
    with services.database.reading() as session:
        held, now = queries.open_positions(session), utcnow()
        return [bot_public(row, held, now) for row in queries.all_bots(session)]


def bot(services: Services, ref: str) -> BotPublic:
    """One bot by its key, or the window it is bound to now."""
    with services.database.reading() as session:
        row = queries.find_bot(session, ref)
        if row is None:
            raise UnknownBot(ref)
        return bot_public(row, queries.open_positions(session, [row.bot]), utcnow())


def resolve(services: Services, ref: str) -> str:
    """A bot's key from its key or the window it is bound to; `UnknownBot` otherwise."""
    with services.database.reading() as session:
        row = queries.find_bot(session, ref)
        if row is None:
            raise UnknownBot(ref)
        return row.bot


async def delete_bot(services: Services, ref: str) -> Deleted:
    """Forget a bot: its worker stops, its rows and screenshots go; its trades stay."""
    key, window = await run_in_threadpool(_key_and_window, services, ref)
    if window is not None:
        # Its worker first: a running one would write the folder and the row again.
        await _stop_capture(services, window)
    result = await run_in_threadpool(_remove, services, key, window)
    await services.publish(Event.of(BotDeleted(bot=result.deleted)))
    return result


def _key_and_window(services: Services, ref: str) -> tuple[str, int | None]:
    with services.database.reading() as session:
        row = queries.find_bot(session, ref)
        if row is None:
            raise UnknownBot(ref)
        return row.bot, row.hwnd


def _remove(services: Services, key: str, window: int | None) -> Deleted:
    with services.database.reading() as session:
        trades = queries.trade_ids_of_bot(session, key)
    services.ledger.delete_bot(key)
    # Its trades stay in the ledger; the frames kept with them go with the bot.
    services.trade_frames.forget(key)
    removed = services.trade_frames.remove_trades(trades) > 0
    if window is not None:
        # Built from an integer the database holds, never from the request's text.
        folder = services.settings.screenshots_dir / f"hwnd_{int(window)}"
        removed = folder.is_dir() or removed
        shutil.rmtree(folder, ignore_errors=True)
    return Deleted(deleted=key, screenshots_removed=removed)


async def _stop_capture(services: Services, hwnd: int) -> None:
    """Stop the window's worker if one runs (here or in the agent); none running is fine."""
    try:
        await services.capture.run(commands.stop, StopRequest(hwnd=hwnd))
    except AgentUnavailable:
        pass
    except CaptureError as exc:
        if http_status(exc) != UnknownWorker.http_status:
            raise


async def save_settings(services: Services, ref: str, settings: BotSettings) -> BotSettingsPublic:
    """Merge and save a bot's settings; a window being captured reads the new way at once.

    `ref` is a bot's key or a window id (the bot of that window, bound if need be)."""
    window = int(ref) if ref.isdigit() and int(ref) <= MAX_HWND else None
    key = await _bot_of_window(services, window) if window is not None else ref
    saved = await run_in_threadpool(
        services.ledger.save_bot_settings, key, window if key == ref else None, settings
    )
    applied = await _apply_to_worker(services, key, window)
    return BotSettingsPublic(bot=key, meta=saved.to_meta(), applied_to_running_worker=applied)


async def _apply_to_worker(services: Services, key: str, window: int | None) -> bool:
    """A window being captured for the bot reads its saved settings at once; whether one was."""
    bound = window if window is not None else await run_in_threadpool(_bound_window, services, key)
    if bound is None:
        return False
    with contextlib.suppress(AgentUnavailable):
        return await services.capture.run(commands.reload_bot_settings, StopRequest(hwnd=bound))
    return False


async def upsert_fields(
    services: Services, key: str, fields: dict[str, Any], validated: OriginalBotFields
) -> tuple[BotPublic, dict[str, Any]]:
    """Make or update a bot from the original's fields: kept as sent (merged with what was
    kept), its rules applied, its name given, bound to `hwnd` if no other bot holds it.
    The bot and the fields it keeps."""
    saved = await run_in_threadpool(services.ledger.bot_settings, key)
    stored = {**(saved.original or {}), **fields}
    given: dict[str, Any] = {"original": stored}
    if touches_rules(fields):
        given["rules"] = rules_from_fields(OriginalBotFields.model_validate(stored), saved.rules)
    changes = BotSettings.model_validate(given)
    await run_in_threadpool(services.ledger.save_bot_settings, key, validated.hwnd, changes)
    if validated.name is not None and validated.name.strip():
        await run_in_threadpool(services.ledger.rename_bot, key, validated.name.strip())
    await _apply_to_worker(services, key, None)
    return await run_in_threadpool(bot, services, key), stored


def kept_fields(services: Services, key: str) -> dict[str, Any]:
    """The original's fields a bot keeps (`upsert_fields`), none for a bot never upserted."""
    return services.ledger.bot_settings(key).original or {}


async def clear_bots(services: Services) -> list[str]:
    """Forget every bot as `delete_bot` does (workers stop, rows and screenshots go; the
    ledger keeps their trades); the bots forgotten."""
    keys = [public.bot for public in await run_in_threadpool(all_bots, services)]
    for key in keys:
        with contextlib.suppress(UnknownBot):  # gone meanwhile
            await delete_bot(services, key)
    services.trade_frames.forget_all()
    return keys


async def _bot_of_window(services: Services, hwnd: int) -> str:
    """The bot a window's settings go to (capture binds the window if need be)."""
    try:
        return await services.capture.run(commands.bot_for_window, StopRequest(hwnd=hwnd))
    except AgentUnavailable:
        return await run_in_threadpool(services.ledger.bot_for_window, hwnd) or str(hwnd)


def _bound_window(services: Services, key: str) -> int | None:
    wanted = services.ledger.bot_capture(key)
    return wanted.hwnd if wanted is not None else None


async def update_bot(
    services: Services, ref: str, *, name: str | None = None, hwnd: int | None = None
) -> BotPublic:
    """Rename a bot, or move it to another window (it captures there if it was)."""
    key = await run_in_threadpool(resolve, services, ref)
    if hwnd is not None:
        await services.capture.run(commands.move_bot, MoveBotRequest(bot=key, hwnd=hwnd))
    if name is not None:
        await run_in_threadpool(services.ledger.rename_bot, key, name.strip())
    public = await run_in_threadpool(bot, services, key)
    await services.publish(Event.of(BotRenamed(bot=key, name=public.name)))
    return public


async def pause_bot(services: Services, ref: str) -> BotCaptureState:
    key = await run_in_threadpool(resolve, services, ref)
    return await services.capture.run(commands.pause_bot, BotRequest(bot=key))


async def resume_bot(services: Services, ref: str) -> BotCaptureState:
    key = await run_in_threadpool(resolve, services, ref)
    return await services.capture.run(commands.resume_bot, BotRequest(bot=key))


async def close_positions(services: Services, ref: str) -> ClosedPositions:
    """Sell the bot's open positions at the last price it read; each trade streams."""
    key = await run_in_threadpool(resolve, services, ref)
    closed = await run_in_threadpool(services.ledger.close_positions, key, utcnow())
    trades = [await services.publish_trade(done.trade_id, done.trade) for done in closed]
    return ClosedPositions(bot=key, trades=trades)
