"""What a window source hands out: a window's description and one capture of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

import numpy as np

from trade_analysis.wire import CaptureMethod as CaptureMethod

CAPTURE_METHODS: tuple[CaptureMethod, ...] = get_args(CaptureMethod)


@dataclass(frozen=True)
class WindowInfo:
    """A visible, titled top-level window; position and size in root/screen coordinates."""

    hwnd: int
    title: str
    process: str | None
    x: int
    y: int
    width: int
    height: int


# eq=False: comparing frames would compare pixel arrays element-wise, which is never
# what a caller means; frames are compared by identity (and hash by identity).
@dataclass(frozen=True, eq=False)
class Frame:
    """One capture of one window.

    ``pixels`` is an ``HxWx3`` ``uint8`` array in BGR order (OpenCV's order). It may be a
    view into a larger BGRX buffer, so it is not necessarily C-contiguous; call
    ``np.ascontiguousarray`` before handing it to code that needs contiguous memory.
    """

    hwnd: int
    title: str
    pixels: np.ndarray
    captured_at: datetime
    method: CaptureMethod

    def __post_init__(self) -> None:
        pixels = self.pixels
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
            raise ValueError(
                f"Frame.pixels must be HxWx3 uint8 (BGR), got {pixels.shape} {pixels.dtype}"
            )
        if self.captured_at.tzinfo is None:
            raise ValueError("Frame.captured_at must be timezone-aware (UTC)")
        if self.method not in CAPTURE_METHODS:
            raise ValueError(f"Frame.method must be one of {CAPTURE_METHODS}, not {self.method!r}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])
