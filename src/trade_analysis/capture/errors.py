"""Capture's errors, each carrying the HTTP status it answers with.

The status is declared here once and read in two places: the API's error
handler, and the agent, which sends it back with the error's text so an API
process answers a remote failure exactly as it would a local one.
"""

from __future__ import annotations

from typing import ClassVar


class CaptureError(Exception):
    http_status: ClassVar[int] = 500


class CaptureUnavailable(CaptureError, RuntimeError):
    """Capture cannot work here at all (no display, unsupported platform, server refused).

    The message says what is missing, e.g. ``no X display: set DISPLAY, ...``.
    """

    http_status = 503


class WindowGone(CaptureError, LookupError):
    """The window was closed, or is no longer viewable (unmapped, minimised)."""

    http_status = 400

    def __init__(self, hwnd: int, reason: str = "window is closed or not viewable") -> None:
        super().__init__(f"window {hwnd:#x}: {reason}")
        self.hwnd = hwnd
        self.reason = reason


class UnknownWorker(CaptureError, LookupError):
    http_status = 404

    def __init__(self, hwnd: int) -> None:
        super().__init__(f"no capture worker for window {hwnd}; start one with /start_multi")


class NoFrameYet(CaptureError, LookupError):
    http_status = 404

    def __init__(self, hwnd: int) -> None:
        super().__init__(f"window {hwnd} has no changed frame yet; try again in a second")


class InvalidWindow(CaptureError, ValueError):
    http_status = 400

    def __init__(self, hwnd: int) -> None:
        super().__init__(
            f"window {hwnd} is not a visible, titled window on this desktop; see /windows"
        )


class BotNotFound(CaptureError, LookupError):
    http_status = 404

    def __init__(self, bot: str) -> None:
        super().__init__(f"no bot {bot!r}; see /bots")


class WindowTaken(CaptureError):
    """Another running bot captures that window."""

    http_status = 409

    def __init__(self, hwnd: int, bot: str) -> None:
        super().__init__(f"window {hwnd} is captured by bot {bot!r}; pause or move it first")


class CropRefused(CaptureError, ValueError):
    """An edit that would leave a crop with no pixels (each edge alone was in range)."""

    http_status = 422


class AgentUnavailable(CaptureError):
    http_status = 503

    def __init__(self) -> None:
        super().__init__(
            "no capture agent is connected: run `trade-analysis agent` on the desktop "
            "with the same BUS_URL and DATABASE_URL"
        )


class AgentError(CaptureError):
    """An error the agent reported, with the HTTP status it carried."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def http_status(error: CaptureError) -> int:
    """The status an error answers with (an agent's error keeps the one it was sent with)."""
    return error.status if isinstance(error, AgentError) else error.http_status
