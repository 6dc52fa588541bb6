"""Bot routes: each parses, makes one call of `application.bots`, and answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import (
    BOT_PATTERN,
    BotPublic,
    BotSettingsPublic,
    BotUpdate,
    ClosedPositions,
    Deleted,
)
from trade_analysis.application import bots as application
from trade_analysis.capture.schemas import BotCaptureState
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
    return application.all_bots(services)


@router.get(
    "/bots/{bot}",
    response_model=BotPublic,
    summary="One bot with its totals",
    responses=UNKNOWN_BOT,
)
def get_bot(bot: BotPath, services: ServicesDep) -> BotPublic:
    return application.bot(services, bot)


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
    return await application.delete_bot(services, hwnd)


@router.put(
    "/bots/{hwnd}/settings",
    response_model=BotSettingsPublic,
    summary="Save a bot's rules, costs, title pattern, OCR or crop (merged with what is saved)",
)
async def save_settings(
    hwnd: Annotated[str, Path(pattern=BOT_PATTERN, description="window id or bot name")],
    request: BotSettings,
    services: ServicesDep,
) -> BotSettingsPublic:
    return await application.save_settings(services, hwnd, request)


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
    return await application.update_bot(services, bot, name=request.name, hwnd=request.hwnd)


@router.post(
    "/bots/{bot}/pause",
    response_model=BotCaptureState,
    summary="Stop a bot's capture; it does not resume by itself until resumed",
    responses=UNKNOWN_BOT,
)
async def pause_bot(bot: BotPath, services: ServicesDep) -> BotCaptureState:
    return await application.pause_bot(services, bot)


@router.post(
    "/bots/{bot}/resume",
    response_model=BotCaptureState,
    summary="Capture again: now if a matching window is open, else when one appears",
    responses=UNKNOWN_BOT,
)
async def resume_bot(bot: BotPath, services: ServicesDep) -> BotCaptureState:
    return await application.resume_bot(services, bot)


@router.post(
    "/bots/{bot}/close",
    response_model=ClosedPositions,
    summary="Sell the bot's open positions at the last price it read (`manual close`)",
    responses={**UNKNOWN_BOT, 409: {"description": "the bot holds no open position"}},
)
async def close_positions(bot: BotPath, services: ServicesDep) -> ClosedPositions:
    return await application.close_positions(services, bot)
