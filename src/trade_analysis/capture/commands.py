"""Every capture command, declared once: its name, its arguments' model, its handler.

`COMMANDS` is the one dispatcher table, `{name: Command(model, handler, result)}`.
In this process `LocalCapture.run` calls the handler on the capture manager (in
a thread: handlers block); over the bus `RemoteCapture.run` sends the name and
the arguments as JSON, and the agent looks the command up in the same table,
validates the arguments with its model and runs the same handler. The result
type validates the agent's JSON answer back into what the handler returned.

Adding a command: its arguments' model (capture/schemas.py), a handler here,
and the route that calls it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from trade_analysis.analysis.crop import CropSettings, InvalidCrop
from trade_analysis.capture.errors import CropRefused
from trade_analysis.capture.frame import WindowInfo
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.schemas import (
    BotCaptureState,
    BotRequest,
    CropEdges,
    CropEdited,
    EnabledRequest,
    IntervalRequest,
    MoveBotRequest,
    NoArguments,
    ReadingPublic,
    StartRequest,
    StopRequest,
    WorkerCropEdges,
)
from trade_analysis.wire import WorkerStatus

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Command(Generic[RequestT, ResultT]):
    name: str
    model: type[RequestT]
    handler: Callable[[CaptureManager, RequestT], ResultT]
    result: TypeAdapter[ResultT]

    def run(self, manager: CaptureManager, arguments: RequestT) -> ResultT:
        """Blocking: call from a thread."""
        return self.handler(manager, arguments)


COMMANDS: dict[str, Command[Any, Any]] = {}


def command(
    name: str, model: type[RequestT], result: Any
) -> Callable[[Callable[[CaptureManager, RequestT], ResultT]], Command[RequestT, ResultT]]:
    """Declare a handler as the command `name`, taking `model`, answering `result`."""

    def declare(
        handler: Callable[[CaptureManager, RequestT], ResultT],
    ) -> Command[RequestT, ResultT]:
        declared = Command(name, model, handler, TypeAdapter(result))
        COMMANDS[name] = declared
        return declared

    return declare


@command("list_windows", NoArguments, list[WindowInfo])
def list_windows(manager: CaptureManager, _: NoArguments) -> list[WindowInfo]:
    return manager.list_windows()


@command("preview_window", StopRequest, str)
def preview_window(manager: CaptureManager, request: StopRequest) -> str:
    """A small JPEG of the window, base64: JSON over the bus as in this process."""
    return base64.b64encode(manager.preview(request.hwnd)).decode()


def _start(manager: CaptureManager, request: StartRequest, legacy: bool) -> WorkerStatus:
    return manager.start(
        request.hwnd,
        interval=request.interval,
        keep_last_n=request.keep_last_n,
        bring_to_foreground=request.bring_to_foreground,
        legacy=legacy,
    )


@command("start", StartRequest, WorkerStatus)
def start(manager: CaptureManager, request: StartRequest) -> WorkerStatus:
    return _start(manager, request, legacy=False)


@command("start_legacy", StartRequest, WorkerStatus)
def start_legacy(manager: CaptureManager, request: StartRequest) -> WorkerStatus:
    """The seed's single capture (`/start`): the window `/status` and `/stop` mean."""
    return _start(manager, request, legacy=True)


@command("stop", StopRequest, WorkerStatus)
def stop(manager: CaptureManager, request: StopRequest) -> WorkerStatus:
    return manager.stop(request.hwnd)


@command("stop_legacy", NoArguments, WorkerStatus | None)
def stop_legacy(manager: CaptureManager, _: NoArguments) -> WorkerStatus | None:
    return manager.stop_legacy()


@command("stop_all", NoArguments, list[int])
def stop_all(manager: CaptureManager, _: NoArguments) -> list[int]:
    """The windows that were being captured."""
    return manager.stop_all()


@command("set_interval", IntervalRequest, WorkerStatus)
def set_interval(manager: CaptureManager, request: IntervalRequest) -> WorkerStatus:
    """A running window's seconds between captures, from its next wait on."""
    return manager.set_interval(request.hwnd, request.interval)


@command("set_line_detect", EnabledRequest, None)
def set_line_detect(manager: CaptureManager, request: EnabledRequest) -> None:
    manager.set_line_detect(request.enabled)


@command("set_bring_to_foreground", EnabledRequest, None)
def set_bring_to_foreground(manager: CaptureManager, request: EnabledRequest) -> None:
    manager.set_bring_to_foreground(request.enabled)


@command("edit_global_crop", CropEdges, CropSettings)
def edit_global_crop(manager: CaptureManager, request: CropEdges) -> CropSettings:
    """Change the edges given of the default crop; answers the whole crop."""
    with _crop_refusals():
        return CropSettings.from_crop(manager.edit_global_crop(request.edges()))


@command("edit_worker_crop", WorkerCropEdges, CropEdited)
def edit_worker_crop(manager: CaptureManager, request: WorkerCropEdges) -> CropEdited:
    """Change the edges given of a window's crop (its own, else the default it used)."""
    with _crop_refusals():
        crop, applied = manager.edit_worker_crop(request.hwnd, request.edges.edges())
    return CropEdited(crop=CropSettings.from_crop(crop), applied=applied)


@contextmanager
def _crop_refusals() -> Iterator[None]:
    """A merged crop that leaves no pixels answers 422, here or from the agent."""
    try:
        yield
    except InvalidCrop as exc:
        raise CropRefused(str(exc)) from exc


@command("reload_bot_settings", StopRequest, bool)
def reload_bot_settings(manager: CaptureManager, request: StopRequest) -> bool:
    """True when the window is being captured and took its bot's saved settings."""
    return manager.reload_bot_settings(request.hwnd)


@command("reading", StopRequest, ReadingPublic)
def reading(manager: CaptureManager, request: StopRequest) -> ReadingPublic:
    """Re-read the window's last changed frame, with the series traced on it."""
    return ReadingPublic.model_validate(manager.reading(request.hwnd))


@command("frame_png", StopRequest, str)
def frame_png(manager: CaptureManager, request: StopRequest) -> str:
    """The window's last changed frame as PNG, base64 (JSON carries it over the bus)."""
    return base64.b64encode(manager.frame_png(request.hwnd)).decode()


@command("bot_for_window", StopRequest, str)
def bot_for_window(manager: CaptureManager, request: StopRequest) -> str:
    """The bot a window's settings go to: the one bound to it (binding it if need be)."""
    return manager.bot_for(request.hwnd)


@command("pause_bot", BotRequest, BotCaptureState)
def pause_bot(manager: CaptureManager, request: BotRequest) -> BotCaptureState:
    """Stop the bot's capture; it does not resume by itself until resumed."""
    return manager.pause(request.bot)


@command("resume_bot", BotRequest, BotCaptureState)
def resume_bot(manager: CaptureManager, request: BotRequest) -> BotCaptureState:
    """Capture again: now if a matching window is open, else when one appears."""
    return manager.resume(request.bot)


@command("move_bot", MoveBotRequest, BotCaptureState)
def move_bot(manager: CaptureManager, request: MoveBotRequest) -> BotCaptureState:
    """Bind the bot to another window; it captures there if it was capturing."""
    return manager.move(request.bot, request.hwnd)
