from __future__ import annotations

import contextlib
import shutil
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import (
    BOT_PATTERN,
    BotPublic,
    BotSettingsPublic,
    BotUpdate,
    ClosedPositions,
    Deleted,
)
from trade_analysis.capture import commands
from trade_analysis.capture.errors import (
    AgentUnavailable,
    CaptureError,
    UnknownWorker,
    http_status,
)
from trade_analysis.capture.schemas import (
    MAX_HWND,
    BotCaptureState,
    BotRequest,
    MoveBotRequest,
    StopRequest,
)
from trade_analysis.db import queries
from trade_analysis.domain import utcnow
from trade_analysis.live import Event, EventType
from trade_analysis.services import Services
from trade_analysis.trading.bot_settings import BotSettings

router = APIRouter(tags=["bots"])
BotPath = Annotated[
    str,
    Path(
        pattern=BOT_PATTERN,
        description="the bot's key, or a window id: the bot bound to that window",
    ),
]
UNKNOWN_BOT: dict[int | str, dict[str, Any]] = {404: {"description": "no such bot"}}


@router.get("/bots", response_model=list[BotPublic], summary="Every bot with its totals")
def bots(services: ServicesDep) -> list[BotPublic]:
    with services.database.reading() as session:
        held, now = queries.open_positions(session), utcnow()
        return [BotPublic.of(row, held, now) for row in queries.all_bots(session)]


@router.delete(
    "/bots/{hwnd}",
    response_model=Deleted,
    summary="Forget a bot and its screenshots; its trades stay in the ledger",
    responses={404: {"description": "no such bot"}},
)
async def delete_bot(
    hwnd: Annotated[str, Path(pattern=BOT_PATTERN, description="window id or bot name")],
    services: ServicesDep,
) -> Deleted:
    def find() -> tuple[str, int | None]:
        with services.database.reading() as session:
            row = queries.find_bot(session, hwnd)
            if row is None:
                raise HTTPException(404, f"no bot {hwnd!r}")
            return row.bot, row.hwnd

    def remove(key: str, window: int | None) -> Deleted:
        services.ledger.delete_bot(key)
        removed = False
        if window is not None:
            # Built from an integer the database holds, never from the request's text.
            folder = services.settings.screenshots_dir / f"hwnd_{int(window)}"
            removed = folder.is_dir()
            shutil.rmtree(folder, ignore_errors=True)
        return Deleted(deleted=key, screenshots_removed=removed)

    key, window = await run_in_threadpool(find)
    if window is not None:
        # Its worker first: a running one would write the folder and the row again.
        await _stop_capture(services, window)
    result = await run_in_threadpool(remove, key, window)
    await services.publish(Event(EventType.BOT, {"bot": result.deleted, "deleted": True}))
    return result


async def _stop_capture(services: Services, hwnd: int) -> None:
    """Stop the window's worker if one runs (here or in the agent); none running is fine."""
    try:
        await services.capture.run(commands.stop, StopRequest(hwnd=hwnd))
    except AgentUnavailable:
        pass
    except CaptureError as exc:
        if http_status(exc) != UnknownWorker.http_status:
            raise


@router.put(
    "/bots/{hwnd}/settings",
    response_model=BotSettingsPublic,
    summary="Save a bot's rules, title pattern, OCR or crop (merged with what is saved)",
)
async def save_settings(
    hwnd: Annotated[str, Path(pattern=BOT_PATTERN, description="window id or bot name")],
    request: BotSettings,
    services: ServicesDep,
) -> BotSettingsPublic:
    window = int(hwnd) if hwnd.isdigit() and int(hwnd) <= MAX_HWND else None
    key = await _bot_of_window(services, window) if window is not None else hwnd
    saved = await run_in_threadpool(
        services.ledger.save_bot_settings, key, window if key == hwnd else None, request
    )
    bound = window if window is not None else await run_in_threadpool(_bound_window, services, key)
    applied = False
    if bound is not None:
        # Saved either way; a window being captured reads frames the new way at once.
        with contextlib.suppress(AgentUnavailable):
            window_ref = StopRequest(hwnd=bound)
            applied = await services.capture.run(commands.reload_bot_settings, window_ref)
    return BotSettingsPublic(bot=key, meta=saved.to_meta(), applied_to_running_worker=applied)


async def _bot_of_window(services: Services, hwnd: int) -> str:
    """The bot a window's settings go to (capture binds the window if need be)."""
    try:
        return await services.capture.run(commands.bot_for_window, StopRequest(hwnd=hwnd))
    except AgentUnavailable:
        return await run_in_threadpool(services.ledger.bot_for_window, hwnd) or str(hwnd)


def _bound_window(services: Services, bot: str) -> int | None:
    wanted = services.ledger.bot_capture(bot)
    return wanted.hwnd if wanted is not None else None


def _resolve(services: Services, bot: str) -> str:
    """A bot's key from the path: its key, or the window it is bound to; 404 otherwise."""
    with services.database.reading() as session:
        row = queries.find_bot(session, bot)
        if row is None:
            raise HTTPException(404, f"no bot {bot!r}; see /bots")
        return row.bot


def _public(services: Services, bot: str) -> BotPublic:
    with services.database.reading() as session:
        row = queries.find_bot(session, bot)
        if row is None:
            raise HTTPException(404, f"no bot {bot!r}; see /bots")
        held = queries.open_positions(session, [row.bot])
        return BotPublic.of(row, held, utcnow())


@router.put(
    "/bots/{bot}",
    response_model=BotPublic,
    summary="Rename a bot, or move it to another window (it captures there if it was)",
    responses={
        **UNKNOWN_BOT,
        409: {"description": "another running bot captures that window"},
        400: {"description": "no such window on the desktop"},
    },
)
async def update_bot(bot: BotPath, request: BotUpdate, services: ServicesDep) -> BotPublic:
    key = await run_in_threadpool(_resolve, services, bot)
    if request.hwnd is not None:
        await services.capture.run(commands.move_bot, MoveBotRequest(bot=key, hwnd=request.hwnd))
    if request.name is not None:
        await run_in_threadpool(services.ledger.rename_bot, key, request.name.strip())
    public = await run_in_threadpool(_public, services, key)
    await services.publish(Event(EventType.BOT, {"bot": key, "name": public.name}))
    return public


@router.post(
    "/bots/{bot}/pause",
    response_model=BotCaptureState,
    summary="Stop a bot's capture; it does not resume by itself until resumed",
    responses=UNKNOWN_BOT,
)
async def pause_bot(bot: BotPath, services: ServicesDep) -> BotCaptureState:
    key = await run_in_threadpool(_resolve, services, bot)
    return await services.capture.run(commands.pause_bot, BotRequest(bot=key))


@router.post(
    "/bots/{bot}/resume",
    response_model=BotCaptureState,
    summary="Capture again: now if a matching window is open, else when one appears",
    responses=UNKNOWN_BOT,
)
async def resume_bot(bot: BotPath, services: ServicesDep) -> BotCaptureState:
    key = await run_in_threadpool(_resolve, services, bot)
    return await services.capture.run(commands.resume_bot, BotRequest(bot=key))


@router.post(
    "/bots/{bot}/close",
    response_model=ClosedPositions,
    summary="Sell the bot's open positions at the last price it read (`manual close`)",
    responses={**UNKNOWN_BOT, 409: {"description": "the bot holds no open position"}},
)
async def close_positions(bot: BotPath, services: ServicesDep) -> ClosedPositions:
    key = await run_in_threadpool(_resolve, services, bot)
    closed = await run_in_threadpool(services.ledger.close_positions, key, utcnow())
    trades = [await services.publish_trade(done.trade_id, done.trade) for done in closed]
    return ClosedPositions(bot=key, trades=trades)
