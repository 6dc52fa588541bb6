"""Capture routes: windows, workers and their settings. Thin: each runs one capture command."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from trade_analysis.api.deps import ServicesDep, require_key_or_image_token
from trade_analysis.api.schemas import Ok, WindowPreview, WorkerPublic
from trade_analysis.application import capture as application
from trade_analysis.capture import commands
from trade_analysis.capture.errors import CaptureError, NoFrameYet, UnknownWorker, WindowGone
from trade_analysis.capture.frame import WindowInfo
from trade_analysis.capture.schemas import (
    MAX_HWND,
    CropEdges,
    CropFactorRequest,
    EnabledRequest,
    Idle,
    IntervalRequest,
    NoArguments,
    NotRunning,
    ReadingPublic,
    StartRequest,
    StopRequest,
    WorkerCropEdges,
    WorkerStatus,
)

router = APIRouter(tags=["capture"])
# What the page loads as `<img src>`: a token from /ws-token in `?token=`, or the key.
frames_router = APIRouter(tags=["capture"], dependencies=[Depends(require_key_or_image_token)])
Hwnd = Annotated[int, Path(ge=0, le=MAX_HWND, description="the window's id, as /windows lists it")]
NONE = NoArguments()


def fails_with(error: type[CaptureError], when: str) -> dict[int | str, dict[str, Any]]:
    """A route's error in its OpenAPI `responses`: the status that capture error answers
    with (declared once, in capture/errors.py) and when the route answers it."""
    return {error.http_status: {"description": when}}


NO_FRAME = fails_with(NoFrameYet, "no worker for the window, or no frame yet")


@router.get("/windows", response_model=list[WindowInfo], summary="Windows that can be captured")
async def windows(services: ServicesDep) -> list[WindowInfo]:
    return await services.capture.run(commands.list_windows, NONE)


@router.get(
    "/windows/{hwnd}/preview",
    response_model=WindowPreview,
    summary="A small JPEG of a window, to choose it before watching it",
    responses=fails_with(WindowGone, "no such window (any more)"),
)
async def window_preview(hwnd: Hwnd, services: ServicesDep) -> WindowPreview:
    jpeg = await services.capture.run(commands.preview_window, StopRequest(hwnd=hwnd))
    return WindowPreview(hwnd=hwnd, jpeg_b64=jpeg)


@router.post(
    "/start_multi", response_model=WorkerStatus, summary="Start capturing a window (idempotent)"
)
async def start_multi(request: StartRequest, services: ServicesDep) -> WorkerStatus:
    return await application.start(services, request)


@router.post("/stop_multi", response_model=WorkerStatus, summary="Stop capturing a window")
async def stop_multi(request: StopRequest, services: ServicesDep) -> WorkerStatus:
    return await application.stop(services, request)


@router.post(
    "/set_capture_interval",
    response_model=WorkerStatus,
    summary="A running window's seconds between captures, from its next wait on",
    responses=fails_with(UnknownWorker, "the window is not being captured"),
)
async def set_capture_interval(request: IntervalRequest, services: ServicesDep) -> WorkerStatus:
    return await application.set_interval(services, request)


@router.post("/stop_all_workers", response_model=Ok, summary="Stop every capture worker")
async def stop_all_workers(services: ServicesDep) -> Ok:
    stopped = await services.capture.run(commands.stop_all, NONE)
    return Ok(detail=f"stopped {len(stopped)} worker(s)")


@router.post(
    "/start",
    response_model=WorkerStatus,
    summary="The seed's single capture: start it on a window",
)
async def start(request: StartRequest, services: ServicesDep) -> WorkerStatus:
    return await application.start(services, request, legacy=True)


@router.post(
    "/stop",
    response_model=WorkerStatus | NotRunning,
    summary="The seed's single capture: stop it",
)
async def stop(services: ServicesDep) -> WorkerStatus | NotRunning:
    return await services.capture.run(commands.stop_legacy, NONE) or NotRunning()


@router.get(
    "/status", response_model=WorkerStatus | Idle, summary="The seed's single capture: its status"
)
async def status(services: ServicesDep) -> WorkerStatus | Idle:
    return await services.capture.legacy_status() or Idle()


@router.get("/workers", response_model=list[WorkerPublic], summary="Every worker, live")
async def workers(services: ServicesDep) -> list[WorkerPublic]:
    return await application.workers(services)


@router.post("/settings/line_detect", response_model=Ok, summary="Trend reading on or off")
async def line_detect(request: EnabledRequest, services: ServicesDep) -> Ok:
    return Ok(detail=await application.set_line_detect(services, request))


@router.post("/settings/bring_to_foreground", response_model=Ok)
async def bring_to_foreground(request: EnabledRequest, services: ServicesDep) -> Ok:
    return Ok(detail=await application.set_bring_to_foreground(services, request))


@router.post(
    "/settings/crop",
    response_model=Ok,
    summary="The default crop for every window; edges left out stay as they were",
)
async def global_crop(request: CropEdges, services: ServicesDep) -> Ok:
    await services.capture.run(commands.edit_global_crop, request)
    return Ok(detail="default crop saved")


@router.post("/settings/crop_factor", response_model=Ok, summary="Crop all four edges alike")
async def crop_factor(request: CropFactorRequest, services: ServicesDep) -> Ok:
    await services.capture.run(commands.edit_global_crop, application.uniform_crop(request))
    return Ok(detail=f"default crop {request.factor} on every edge")


@router.post(
    "/workers/{hwnd}/crop",
    response_model=Ok,
    summary="A window's own crop; edges left out stay as its crop had them",
)
async def worker_crop(hwnd: Hwnd, request: CropEdges, services: ServicesDep) -> Ok:
    edited = await services.capture.run(
        commands.edit_worker_crop, WorkerCropEdges(hwnd=hwnd, edges=request)
    )
    saved = "crop applied" if edited.applied else "crop saved; applied when capture starts"
    return Ok(detail=saved)


@router.get(
    "/workers/{hwnd}/reading",
    response_model=ReadingPublic,
    summary="Re-read the window's last changed frame, with the traced series",
    responses=NO_FRAME,
)
async def worker_reading(hwnd: Hwnd, services: ServicesDep) -> ReadingPublic:
    return await services.capture.run(commands.reading, StopRequest(hwnd=hwnd))


@frames_router.get(
    "/workers/{hwnd}/frame",
    response_class=Response,
    summary="The window's last changed frame, as PNG (the image /reading's points are on)",
    responses={200: {"content": {"image/png": {}}}, **NO_FRAME},
)
async def worker_frame(hwnd: Hwnd, services: ServicesDep) -> Response:
    encoded: str = await services.capture.run(commands.frame_png, StopRequest(hwnd=hwnd))
    png = base64.b64decode(encoded)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
