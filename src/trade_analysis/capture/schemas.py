"""Capture's messages: a model per command's arguments, and what a worker reports.

The same models are the HTTP request bodies, the arguments of the commands
the agent receives over the bus (validated with `model_validate` where they
arrive), and could be read from query parameters as well: they hold plain
fields with lax (string-friendly) validation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trade_analysis.analysis.crop import Crop, CropSettings, Fraction
from trade_analysis.wire import DEFAULT_INTERVAL, DEFAULT_KEEP_LAST_N, BotState
from trade_analysis.wire import ChartReading as ChartReading
from trade_analysis.wire import LastResult as LastResult
from trade_analysis.wire import TargetWindow as TargetWindow
from trade_analysis.wire import WorkerStatus as WorkerStatus
from trade_analysis.wire import seed_status as seed_status

# Window ids are stored as signed 64-bit integers (X11 ids are 32-bit, HWNDs pointers).
MAX_HWND = 2**63 - 1
WindowId = Annotated[int, Field(ge=0, le=MAX_HWND, description="a window id from /windows")]


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRequest(BaseModel):
    hwnd: WindowId
    interval: float = Field(
        DEFAULT_INTERVAL, ge=0.5, le=3600, description="seconds between captures"
    )
    keep_last_n: int = Field(
        DEFAULT_KEEP_LAST_N, ge=1, le=1000, description="screenshots kept per window"
    )
    bring_to_foreground: bool | None = None


class StopRequest(BaseModel):
    """A window, by its id."""

    hwnd: WindowId


BotKey = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="a bot's key")
]


class BotRequest(BaseModel):
    """A bot, by its key."""

    bot: BotKey


class MoveBotRequest(BaseModel):
    bot: BotKey
    hwnd: WindowId


class BotCaptureState(BaseModel):
    """Where a bot reads from now and what capture does for it."""

    bot: str
    hwnd: int | None
    state: BotState


class IntervalRequest(BaseModel):
    """A window and its new seconds between captures."""

    hwnd: WindowId
    interval: float = Field(ge=0.5, le=3600, description="seconds between captures")


class EnabledRequest(BaseModel):
    enabled: bool


class CropEdges(BaseModel):
    """Fractions cut from the edges given; edges left out stay as they were."""

    left: Fraction | None = None
    right: Fraction | None = None
    top: Fraction | None = None
    bottom: Fraction | None = None

    def edges(self) -> dict[str, float]:
        return {edge: value for edge, value in self.model_dump().items() if value is not None}


class WorkerCropEdges(BaseModel):
    hwnd: WindowId
    edges: CropEdges


class CropEdited(BaseModel):
    """A window's whole crop after an edit, and whether its running worker took it at once."""

    crop: CropSettings
    applied: bool


class CropFactorRequest(BaseModel):
    factor: Fraction

    @model_validator(mode="after")
    def _leaves_pixels(self) -> CropFactorRequest:
        Crop.uniform(self.factor)
        return self


class NotRunning(BaseModel):
    """The seed's answer when there is no (legacy) capture to stop."""

    is_running: Literal[False] = False


class Idle(NotRunning):
    """The seed's status when no legacy capture runs."""

    target_window: None = None


class ReadingCrop(BaseModel):
    """The crop a reading was made with: fractions cut from each edge."""

    left: float
    right: float
    top: float
    bottom: float


class ReadingPublic(ChartReading):
    """A worker's last changed frame re-read, with the series it traced.

    `points` (the close series) and `turning_point` (where the last leg starts)
    are [x, y] pixels of the whole frame `GET /workers/{hwnd}/frame` serves,
    the crop's offset added.
    """

    hwnd: int
    timestamp: str
    width: int
    height: int
    crop: ReadingCrop
    # The region read, [left, top, right, bottom] pixels: the crop's if one was set,
    # else the whole frame (the reader finds the plot area in it).
    area: tuple[int, int, int, int]
    points: list[tuple[float, float]]
    turning_point: tuple[float, float] | None
