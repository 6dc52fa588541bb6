"""The window-source contract and its errors.

Threading rule (measured on X11): one X connection and one grabber per thread; a shared
python-xlib connection returned corrupt frames. A source object therefore belongs to ONE
thread at a time: a capture worker opens its own source inside its own thread.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trade_analysis.capture.errors import CaptureUnavailable, WindowGone
from trade_analysis.capture.frame import Frame, WindowInfo

__all__ = ["CaptureFailed", "CaptureUnavailable", "WindowGone", "WindowSource"]


class CaptureFailed(RuntimeError):
    """The window exists but its pixels could not be read this time (worth retrying)."""


@runtime_checkable
class WindowSource(Protocol):
    """Lists desktop windows and captures one. Used by one thread at a time."""

    def list_windows(self) -> list[WindowInfo]:
        """Visible/viewable top-level windows that have a title."""
        ...

    def capture(self, hwnd: int) -> Frame:
        """The window's own pixels now. Raises WindowGone if it is closed or not viewable."""
        ...

    def bring_to_front(self, hwnd: int) -> int | None:
        """Raise and activate the window; returns the window that had the focus (if known).

        Raises WindowGone if it is closed.
        """
        ...

    def give_focus_back(self, hwnd: int) -> None:
        """Activate a window `bring_to_front` took the focus from; gone windows are ignored."""
        ...

    def close(self) -> None:
        """Release every server-side resource; safe to call twice."""
        ...
