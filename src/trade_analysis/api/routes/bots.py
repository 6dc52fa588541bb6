from __future__ import annotations

import contextlib
import shutil
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import (
    BOT_PATTERN,
    BotPublic,
    BotSettingsPublic,
    Deleted,
)
from trade_analysis.capture import commands
from trade_analysis.capture.errors import (
    AgentUnavailable,
    CaptureError,
    UnknownWorker,
    http_status,
)
from trade_analysis.capture.schemas import MAX_HWND, StopRequest
from trade_analysis.db import queries
from trade_analysis.domain import utcnow
from trade_analysis.live import Event, EventType
from trade_analysis.services import Services
from trade_analysis.trading.bot_settings import BotSettings

router = APIRouter(tags=["bots"])


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
    saved = await run_in_threadpool(services.ledger.save_bot_settings, hwnd, window, request)
    applied = False
    if window is not None:
        # Saved either way; a window being captured reads frames the new way at once.
        with contextlib.suppress(AgentUnavailable):
            window_ref = StopRequest(hwnd=window)
            applied = await services.capture.run(commands.reload_bot_settings, window_ref)
    return BotSettingsPublic(bot=hwnd, meta=saved.to_meta(), applied_to_running_worker=applied)
