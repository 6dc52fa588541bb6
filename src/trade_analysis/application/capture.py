"""Capture: the workers view, and starting and stopping windows for any door.

The commands themselves (capture/commands.py) run where the workers are, in this
process or in the agent; these functions are what the routes and the seed face
call, so both answer the same way.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from trade_analysis.application.bots import bot_public
from trade_analysis.capture import commands
from trade_analysis.capture.manager import bot_key
from trade_analysis.capture.schemas import (
    CropEdges,
    CropFactorRequest,
    EnabledRequest,
    IntervalRequest,
    StartRequest,
    StopRequest,
)
from trade_analysis.db import models, queries
from trade_analysis.domain import utcnow
from trade_analysis.services import Services
from trade_analysis.wire import BotPublic, WorkerPublic, WorkerStatus, WorkerView


async def workers(services: Services) -> list[WorkerPublic]:
    """Every worker, live, with its bot's row: one database read for them all."""
    views = await services.capture.workers()
    return await run_in_threadpool(_with_bots, services, views)


def _with_bots(services: Services, views: Sequence[WorkerView]) -> list[WorkerPublic]:
    named = {view.hwnd: view.status.bot for view in views if view.status.bot}
    # A worker that names no bot shows the bot bound to its window, else the window's own key.
    unnamed = [view.hwnd for view in views if not view.status.bot]
    with services.database.reading() as session:
        by_key = queries.bots_by_key(
            session, {*named.values(), *(bot_key(hwnd) for hwnd in unnamed)}
        )
        by_window = queries.bots_by_window(session, unnamed)
        rows = {
            hwnd: row
            for hwnd in (view.hwnd for view in views)
            if (row := _row_of(hwnd, named, by_key, by_window)) is not None
        }
        held, now = queries.open_positions(session, {row.bot for row in rows.values()}), utcnow()
        public = {hwnd: bot_public(row, held, now) for hwnd, row in rows.items()}
    return [_worker_public(view, public.get(view.hwnd)) for view in views]


def _row_of(
    hwnd: int,
    named: dict[int, str],
    by_key: dict[str, models.Bot],
    by_window: dict[int, models.Bot],
) -> models.Bot | None:
    if hwnd in named:
        return by_key.get(named[hwnd])
    return by_window.get(hwnd) or by_key.get(bot_key(hwnd))


def _worker_public(view: WorkerView, bot: BotPublic | None) -> WorkerPublic:
    jpeg = view.thumbnail_jpeg
    return WorkerPublic(
        hwnd=view.hwnd,
        status=view.status,
        last_result=view.last_result,
        screenshot_b64=base64.b64encode(jpeg).decode() if jpeg else None,
        bot=bot,
    )


async def start(services: Services, request: StartRequest, *, legacy: bool = False) -> WorkerStatus:
    """Capture a window (idempotent); `legacy`: as the seed's single capture."""
    return await services.capture.run(commands.start_legacy if legacy else commands.start, request)


async def stop(services: Services, request: StopRequest) -> WorkerStatus:
    return await services.capture.run(commands.stop, request)


async def set_line_detect(services: Services, request: EnabledRequest) -> str:
    await services.capture.run(commands.set_line_detect, request)
    return f"line detection {'on' if request.enabled else 'off'}"


async def set_bring_to_foreground(services: Services, request: EnabledRequest) -> str:
    await services.capture.run(commands.set_bring_to_foreground, request)
    return f"bring to foreground {'on' if request.enabled else 'off'}"


def uniform_crop(request: CropFactorRequest) -> CropEdges:
    """The same fraction cut from all four edges."""
    factor = request.factor
    return CropEdges(left=factor, right=factor, top=factor, bottom=factor)


async def set_interval(services: Services, request: IntervalRequest) -> WorkerStatus:
    """A running window's seconds between captures (kept for when its bot resumes)."""
    return await services.capture.run(commands.set_interval, request)
