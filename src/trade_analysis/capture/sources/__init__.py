"""Window sources: pick the one this desktop supports with ``open_source()``.

Platform modules (python-xlib; the Win32 DLLs through ctypes) are loaded only when a source is
opened.
"""

from __future__ import annotations

import os
import sys

from trade_analysis.capture.sources.base import (
    CaptureFailed,
    CaptureUnavailable,
    WindowGone,
    WindowSource,
)

__all__ = ["CaptureFailed", "CaptureUnavailable", "WindowGone", "WindowSource", "open_source"]


def open_source(display: str | None = None) -> WindowSource:
    """A new source for the calling thread (open one per thread; close it when done).

    Windows gets the win32 source; elsewhere the X11 source on ``display`` (default
    ``$DISPLAY``). Raises CaptureUnavailable saying what is missing.
    """
    if sys.platform == "win32":
        from trade_analysis.capture.sources.win32 import Win32Source

        return Win32Source()
    name = display or os.environ.get("DISPLAY")
    if not name:
        hint = (
            " (a Wayland session: run the app under XWayland, or upload frames to /ingest)"
            if os.environ.get("WAYLAND_DISPLAY")
            else ""
        )
        raise CaptureUnavailable(f"no X display: set DISPLAY, or run capture on the desktop{hint}")
    try:
        from trade_analysis.capture.sources.x11 import X11Source
    except ImportError as exc:  # pragma: no cover - python-xlib is a Linux dependency
        raise CaptureUnavailable(f"X11 capture needs python-xlib and mss: {exc}") from exc
    return X11Source(name)
