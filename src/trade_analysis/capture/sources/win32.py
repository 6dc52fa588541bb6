"""Win32 window source: EnumWindows, then PrintWindow (or BitBlt) into a DIB, on ctypes.

Every Win32 call goes through ctypes with its ``argtypes`` and ``restype`` declared
(handles are pointer-sized: left to ctypes' default ``int``, a 64-bit handle is cut to
32 bits and calls fail at random). ``CtypesWin32Api`` is that layer; ``Win32Source``
takes any object with the same methods (a fake in the tests off Windows), and this
module imports nothing Windows-only at import time.

Capture order: PrintWindow with PW_RENDERFULLCONTENT (DirectComposition content, e.g.
browsers), then plain PrintWindow, then, as the window is visible, BitBlt from its DC.
A method that fails or gives an all-black frame hands over to the next (under Wine,
PrintWindow of another process's window returns TRUE with a black bitmap); a frame that
is all black by every method is never read as a chart: ``BlankFrame`` says so. Every
device context and bitmap is released on every path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Protocol

import numpy as np
import psutil

from trade_analysis.capture.frame import CaptureMethod, Frame, WindowInfo
from trade_analysis.capture.sources.base import CaptureFailed, WindowGone
from trade_analysis.domain import utcnow

logger = logging.getLogger(__name__)

PW_RENDERFULLCONTENT = 2  # Windows 8.1+: DirectComposition/GPU content (browsers)
PW_PLAIN = 0
SW_RESTORE = 9

PRINT_METHODS: tuple[tuple[int, CaptureMethod], ...] = (
    (PW_RENDERFULLCONTENT, "printwindow"),
    (PW_PLAIN, "printwindow-plain"),
)


class BlankFrame(CaptureFailed):
    """Every capture method gave an all-black frame: nothing of the chart to read."""


class Win32Api(Protocol):
    """The Win32 calls the source uses, with plain ints for handles.

    Functions raise ``OSError`` when Windows reports a failure.
    """

    def EnumWindows(self) -> list[int]: ...  # the Win32 names, on purpose
    def IsWindow(self, hwnd: int) -> bool: ...
    def IsWindowVisible(self, hwnd: int) -> bool: ...
    def IsIconic(self, hwnd: int) -> bool: ...
    def IsCloaked(self, hwnd: int) -> bool:
        """DWMWA_CLOAKED: on another virtual desktop, a suspended UWP app (False sans DWM)."""
        ...

    def GetWindowText(self, hwnd: int) -> str: ...
    def GetWindowRect(self, hwnd: int) -> tuple[int, int, int, int]: ...
    def GetWindowThreadProcessId(self, hwnd: int) -> tuple[int, int]: ...
    def QueryFullProcessImageName(self, pid: int) -> str: ...
    def GetWindowDC(self, hwnd: int) -> int: ...
    def ReleaseDC(self, hwnd: int, hdc: int) -> None: ...
    def CreateCompatibleDC(self, hdc: int) -> int: ...
    def DeleteDC(self, hdc: int) -> None: ...
    def CreateCompatibleBitmap(self, hdc: int, width: int, height: int) -> int: ...
    def SelectObject(self, hdc: int, obj: int) -> int: ...
    def DeleteObject(self, obj: int) -> None: ...
    def PrintWindow(self, hwnd: int, hdc: int, flags: int) -> bool: ...
    def BitBlt(self, destination: int, width: int, height: int, source: int) -> bool:
        """Copy ``width`` x ``height`` from (0, 0) of ``source`` to (0, 0) of ``destination``."""
        ...

    def GetBitmapBits(self, hdc: int, bitmap: int, width: int, height: int) -> bytes:
        """Top-down 32-bit BGRA rows of ``bitmap`` (not selected into any DC)."""
        ...

    def ShowWindow(self, hwnd: int, command: int) -> None: ...
    def SetForegroundWindow(self, hwnd: int) -> None: ...
    def GetForegroundWindow(self) -> int: ...


class Win32Source:
    """A WindowSource on the Windows desktop, for use by one thread at a time."""

    def __init__(self, api: Win32Api | None = None) -> None:
        if api is None:
            from trade_analysis.capture.sources.win32_ctypes import CtypesWin32Api

            api = CtypesWin32Api()
        self._api: Win32Api = api

    def __enter__(self) -> Win32Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing is held between calls: every DC and bitmap is released per capture."""

    def list_windows(self) -> list[WindowInfo]:
        api = self._api
        infos: list[WindowInfo] = []
        for hwnd in api.EnumWindows():  # top-level windows only
            try:
                # Minimised windows are left out, as X11 leaves out unviewable ones: a
                # bot waiting for its window then resumes when it is restored.
                if not api.IsWindowVisible(hwnd) or api.IsIconic(hwnd) or api.IsCloaked(hwnd):
                    continue
                title = api.GetWindowText(hwnd)
                if not title:
                    continue
                left, top, right, bottom = api.GetWindowRect(hwnd)
                _thread, pid = api.GetWindowThreadProcessId(hwnd)
            except OSError:  # closed while we looked at it
                continue
            infos.append(
                WindowInfo(
                    hwnd=hwnd,
                    title=title,
                    process=self._process_name(pid),
                    x=left,
                    y=top,
                    width=right - left,
                    height=bottom - top,
                )
            )
        return infos

    def _process_name(self, pid: int) -> str | None:
        """psutil's name; else the image name Windows gives (psutil fails under Wine)."""
        try:
            return str(psutil.Process(pid).name())
        except (psutil.Error, OSError):
            pass
        try:
            path = self._api.QueryFullProcessImageName(pid)
        except OSError:
            return None
        return path.replace("/", "\\").rsplit("\\", 1)[-1] or None

    def capture(self, hwnd: int) -> Frame:
        api = self._api
        self._require_visible(hwnd)
        try:
            title = api.GetWindowText(hwnd)
            left, top, right, bottom = api.GetWindowRect(hwnd)
        except OSError as exc:
            raise self._gone_or_failed(hwnd, exc) from exc
        width, height = right - left, bottom - top
        if width <= 0 or height <= 0:
            raise WindowGone(hwnd, f"has no area ({width}x{height})")
        try:
            pixels, method = self._grab(hwnd, width, height)
        except (OSError, CaptureFailed) as exc:
            # Closed while we drew it: told as gone (as on X11), not as a failed capture.
            raise self._gone_or_failed(hwnd, exc) from exc
        return Frame(hwnd=hwnd, title=title, pixels=pixels, captured_at=utcnow(), method=method)

    def _require_visible(self, hwnd: int) -> None:
        api = self._api
        if not api.IsWindow(hwnd):
            raise WindowGone(hwnd, "closed")
        if not api.IsWindowVisible(hwnd):
            raise WindowGone(hwnd, "not visible")
        if api.IsIconic(hwnd):
            raise WindowGone(hwnd, "minimised")

    def _gone_or_failed(self, hwnd: int, exc: Exception) -> Exception:
        if not self._api.IsWindow(hwnd):
            return WindowGone(hwnd, "closed")
        if isinstance(exc, CaptureFailed):
            return exc
        return CaptureFailed(f"window {hwnd:#x}: capture failed: {exc}")

    def _grab(self, hwnd: int, width: int, height: int) -> tuple[np.ndarray, CaptureMethod]:
        """The window's pixels (BGR) by the first method that gives a frame not all black."""
        api = self._api
        window_dc = api.GetWindowDC(hwnd)
        if not window_dc:
            raise OSError("GetWindowDC returned no device context")
        try:
            memory_dc = api.CreateCompatibleDC(window_dc)
            try:
                bitmap = api.CreateCompatibleBitmap(window_dc, width, height)
                try:
                    return self._first_frame(hwnd, window_dc, memory_dc, bitmap, width, height)
                finally:
                    api.DeleteObject(bitmap)
            finally:
                api.DeleteDC(memory_dc)
        finally:
            api.ReleaseDC(hwnd, window_dc)

    def _first_frame(
        self, hwnd: int, window_dc: int, memory_dc: int, bitmap: int, width: int, height: int
    ) -> tuple[np.ndarray, CaptureMethod]:
        api = self._api
        tried: list[str] = []
        for flags, method in PRINT_METHODS:
            if not self._drawn(memory_dc, bitmap, partial(self._try_print, hwnd, memory_dc, flags)):
                tried.append(f"{method} failed")
                continue
            pixels = self._read_bitmap(hwnd, memory_dc, bitmap, width, height)
            if not _all_black(pixels):
                return pixels, method
            tried.append(f"{method} all black")
        copied = self._drawn(
            memory_dc, bitmap, lambda: api.BitBlt(memory_dc, width, height, window_dc)
        )
        if not copied:
            raise CaptureFailed(f"window {hwnd:#x}: no capture method worked ({', '.join(tried)})")
        pixels = self._read_bitmap(hwnd, memory_dc, bitmap, width, height)
        if _all_black(pixels):
            raise BlankFrame(
                f"window {hwnd:#x}: every capture method gave an all-black frame "
                f"({', '.join([*tried, 'bitblt all black'])}); not read as a chart"
            )
        return pixels, "bitblt"

    def _drawn(self, memory_dc: int, bitmap: int, draw: Callable[[], object]) -> bool:
        """Run ``draw`` with ``bitmap`` selected into ``memory_dc``, deselected after."""
        api = self._api
        previous = api.SelectObject(memory_dc, bitmap)
        try:
            return bool(draw())
        finally:
            api.SelectObject(memory_dc, previous)

    def _try_print(self, hwnd: int, memory_dc: int, flags: int) -> bool:
        try:
            return bool(self._api.PrintWindow(hwnd, memory_dc, flags))
        except OSError as exc:
            logger.debug("PrintWindow(%#x, flags=%d) raised %s", hwnd, flags, exc)
            return False

    def _read_bitmap(
        self, hwnd: int, memory_dc: int, bitmap: int, width: int, height: int
    ) -> np.ndarray:
        bits = self._api.GetBitmapBits(memory_dc, bitmap, width, height)
        if len(bits) != width * height * 4:
            raise CaptureFailed(
                f"window {hwnd:#x}: bitmap has {len(bits)} bytes, expected {width * height * 4}"
            )
        return np.frombuffer(bits, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

    def bring_to_front(self, hwnd: int) -> int | None:
        api = self._api
        if not api.IsWindow(hwnd):
            raise WindowGone(hwnd, "closed")
        try:
            previous = api.GetForegroundWindow() or None
            if api.IsIconic(hwnd):
                api.ShowWindow(hwnd, SW_RESTORE)
            api.SetForegroundWindow(hwnd)
        except OSError as exc:
            raise self._gone_or_failed(hwnd, exc) from exc
        return previous

    def give_focus_back(self, hwnd: int) -> None:
        api = self._api
        if not api.IsWindow(hwnd):
            return
        try:
            api.SetForegroundWindow(hwnd)
        except OSError as exc:  # the user may have closed or locked it meanwhile
            logger.debug("focus back to %#x refused: %s", hwnd, exc)


def _all_black(pixels: np.ndarray) -> bool:
    """True when every pixel is black (alpha aside): a failed print, not a chart.

    ``pixels`` is the BGR view of a BGRX buffer. A few hundred pixels spread over the frame
    answer "not black" for any chart at once; only a black-looking sample is checked whole.
    """
    step = max(1, pixels.shape[0] // 16)
    if pixels[::step, ::8].any():
        return False
    return not pixels.any()
