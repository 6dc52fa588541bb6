"""Capture routes: windows, workers and their settings. Thin: the capture control does the work."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from trade_analysis.analysis import Crop
from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import (
    MAX_HWND,
    BotPublic,
    CropFactorRequest,
    CropRequest,
    EnabledRequest,
    Ok,
    StartRequest,
    StopRequest,
    WindowPublic,
    WorkerPublic,
)
from trade_analysis.capture.control import WorkerView
from trade_analysis.capture.manager import bot_key, crop_json
from trade_analysis.db import queries
from trade_analysis.services import Services

router = APIRouter(tags=["capture"])
Hwnd = Annotated[int, Path(ge=0, le=MAX_HWND, description="the window's id, as /windows lists it")]
Status = dict[str, Any]


@router.get("/windows", response_model=list[WindowPublic], summary="Windows that can be captured")
async def windows(services: ServicesDep) -> list[WindowPublic]:
    return [WindowPublic.model_validate(w) for w in await services.capture.list_windows()]


async def _start(services: Services, request: StartRequest, legacy: bool) -> Status:
    return await services.capture.start(
        request.hwnd,
        interval=request.interval,
        keep_last_n=request.keep_last_n,
        bring_to_foreground=request.bring_to_foreground,
        legacy=legacy,
    )


@router.post("/start_multi", summary="Start capturing a window (idempotent)")
async def start_multi(request: StartRequest, services: ServicesDep) -> Status:
    return await _start(services, request, legacy=False)


@router.post("/stop_multi", summary="Stop capturing a window")
async def stop_multi(request: StopRequest, services: ServicesDep) -> Status:
    return await services.capture.stop(request.hwnd)


@router.post("/stop_all_workers", response_model=Ok, summary="Stop every capture worker")
async def stop_all_workers(services: ServicesDep) -> Ok:
    return Ok(detail=f"stopped {len(await services.capture.stop_all())} worker(s)")


@router.post("/start", summary="The seed's single capture: start it on a window")
async def start(request: StartRequest, services: ServicesDep) -> Status:
    return await _start(services, request, legacy=True)


@router.post("/stop", summary="The seed's single capture: stop it")
async def stop(services: ServicesDep) -> Status:
    return await services.capture.stop_legacy() or {"is_running": False}


@router.get("/status", summary="The seed's single capture: its status")
async def status(services: ServicesDep) -> Status:
    return await services.capture.legacy_status() or {"is_running": False, "target_window": None}


@router.get("/workers", response_model=list[WorkerPublic], summary="Every worker, live")
async def workers(services: ServicesDep) -> list[WorkerPublic]:
    views = await services.capture.workers()
    return await run_in_threadpool(lambda: [_worker_public(services, view) for view in views])


def _worker_public(services: Services, view: WorkerView) -> WorkerPublic:
    with services.database.reading() as session:
        bot = queries.find_bot(session, bot_key(view.hwnd))
        bot_row = BotPublic.model_validate(bot) if bot is not None else None
    jpeg = view.thumbnail_jpeg
    return WorkerPublic(
        hwnd=view.hwnd,
        status=view.status,
        last_result=view.last_result,
        screenshot_b64=base64.b64encode(jpeg).decode() if jpeg else None,
        bot=bot_row,
    )


@router.post("/settings/line_detect", response_model=Ok, summary="Trend reading on or off")
async def line_detect(request: EnabledRequest, services: ServicesDep) -> Ok:
    await services.capture.set_line_detect(request.enabled)
    return Ok(detail=f"line detection {'on' if request.enabled else 'off'}")


@router.post("/settings/bring_to_foreground", response_model=Ok)
async def bring_to_foreground(request: EnabledRequest, services: ServicesDep) -> Ok:
    await services.capture.set_bring_to_foreground(request.enabled)
    return Ok(detail=f"bring to foreground {'on' if request.enabled else 'off'}")


@router.post("/settings/crop", response_model=Ok, summary="The default crop for every window")
async def global_crop(request: CropRequest, services: ServicesDep) -> Ok:
    await services.capture.edit_global_crop(request.edges())
    return Ok(detail="default crop saved")


@router.post("/settings/crop_factor", response_model=Ok, summary="Crop all four edges alike")
async def crop_factor(request: CropFactorRequest, services: ServicesDep) -> Ok:
    await services.capture.edit_global_crop(crop_json(Crop.uniform(request.factor)))
    return Ok(detail=f"default crop {request.factor} on every edge")


@router.post("/workers/{hwnd}/crop", response_model=Ok, summary="A window's own crop")
async def worker_crop(hwnd: Hwnd, request: CropRequest, services: ServicesDep) -> Ok:
    _, applied = await services.capture.edit_worker_crop(hwnd, request.edges())
    return Ok(detail="crop applied" if applied else "crop saved; applied when capture starts")
