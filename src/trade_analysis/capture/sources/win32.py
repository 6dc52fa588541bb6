"""Win32 window source: EnumWindows + PrintWindow, with psutil for process names.

pywin32 exists only on Windows (an environment marker in pyproject), so this module
imports nothing from it at import time: ``PyWin32Api`` loads win32gui/ctypes when it is
constructed, and ``Win32Source`` accepts any object with the same few methods (a fake in
the tests). Every device context and bitmap is released on every path.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
import psutil

from trade_analysis.capture.frame import Frame, WindowInfo
from trade_analysis.capture.sources.base import CaptureFailed, CaptureUnavailable, WindowGone
from trade_analysis.domain import utcnow

logger = logging.getLogger(__name__)

PW_RENDERFULLCONTENT = 2  # Windows 8.1+: DirectComposition/GPU content (browsers)
PW_PLAIN = 0
SW_RESTORE = 9


class Win32Api(Protocol):
    """The Win32 calls the source uses, with plain ints for handles.

    Functions raise ``OSError`` when Windows reports a failure.
    """

    def EnumWindows(self) -> list[int]: ...  # the Win32 names, on purpose
    def IsWindow(self, hwnd: int) -> bool: ...
    def IsWindowVisible(self, hwnd: int) -> bool: ...
    def IsIconic(self, hwnd: int) -> bool: ...
    def GetWindowText(self, hwnd: int) -> str: ...
    def GetWindowRect(self, hwnd: int) -> tuple[int, int, int, int]: ...
    def GetWindowThreadProcessId(self, hwnd: int) -> tuple[int, int]: ...
    def GetWindowDC(self, hwnd: int) -> int: ...
    def ReleaseDC(self, hwnd: int, hdc: int) -> None: ...
    def CreateCompatibleDC(self, hdc: int) -> int: ...
    def DeleteDC(self, hdc: int) -> None: ...
    def CreateCompatibleBitmap(self, hdc: int, width: int, height: int) -> int: ...
    def SelectObject(self, hdc: int, obj: int) -> int: ...
    def DeleteObject(self, obj: int) -> None: ...
    def PrintWindow(self, hwnd: int, hdc: int, flags: int) -> bool: ...
    def GetBitmapBits(self, hdc: int, bitmap: int, width: int, height: int) -> bytes:
        """Top-down 32-bit BGRA rows of ``bitmap`` (not selected into any DC)."""
        ...

    def ShowWindow(self, hwnd: int, command: int) -> None: ...
    def SetForegroundWindow(self, hwnd: int) -> None: ...
    def GetForegroundWindow(self) -> int: ...


class Win32Source:
    """A WindowSource on the Windows desktop, for use by one thread at a time."""

    def __init__(self, api: Win32Api | None = None) -> None:
        self._api: Win32Api = api if api is not None else PyWin32Api()

    def __enter__(self) -> Win32Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing is held between calls: every DC and bitmap is released per capture."""

    def list_windows(self) -> list[WindowInfo]:
        api = self._api
        infos: list[WindowInfo] = []
        for hwnd in api.EnumWindows():
            try:
                if not api.IsWindowVisible(hwnd):
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
                    process=_process_name(pid),
                    x=left,
                    y=top,
                    width=right - left,
                    height=bottom - top,
                )
            )
        return infos

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
            bgra, method = self._print_window(hwnd, width, height)
        except OSError as exc:
            raise self._gone_or_failed(hwnd, exc) from exc
        pixels = np.frombuffer(bgra, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
        return Frame(hwnd=hwnd, title=title, pixels=pixels, captured_at=utcnow(), method=method)

    def _require_visible(self, hwnd: int) -> None:
        api = self._api
        if not api.IsWindow(hwnd):
            raise WindowGone(hwnd, "closed")
        if not api.IsWindowVisible(hwnd):
            raise WindowGone(hwnd, "not visible")
        if api.IsIconic(hwnd):
            raise WindowGone(hwnd, "minimised")

    def _gone_or_failed(self, hwnd: int, exc: OSError) -> Exception:
        if not self._api.IsWindow(hwnd):
            return WindowGone(hwnd, "closed")
        return CaptureFailed(f"window {hwnd:#x}: capture failed: {exc}")

    def _print_window(self, hwnd: int, width: int, height: int) -> tuple[bytes, str]:
        """PrintWindow into a memory bitmap: full content first, plain if that fails."""
        api = self._api
        expected = width * height * 4
        window_dc = api.GetWindowDC(hwnd)
        try:
            memory_dc = api.CreateCompatibleDC(window_dc)
            try:
                bitmap = api.CreateCompatibleBitmap(window_dc, width, height)
                try:
                    black: tuple[bytes, str] | None = None
                    for flags, method in (
                        (PW_RENDERFULLCONTENT, "printwindow"),
                        (PW_PLAIN, "printwindow-plain"),
                    ):
                        previous = api.SelectObject(memory_dc, bitmap)
                        try:
                            printed = self._try_print(hwnd, memory_dc, flags)
                        finally:
                            api.SelectObject(memory_dc, previous)
                        if not printed:
                            continue
                        bits = api.GetBitmapBits(memory_dc, bitmap, width, height)
                        if len(bits) != expected:
                            raise CaptureFailed(
                                f"window {hwnd:#x}: bitmap has {len(bits)} bytes, "
                                f"expected {expected}"
                            )
                        if flags == PW_RENDERFULLCONTENT and bits.count(0) == len(bits):
                            # Some windows print all black with full content: try plain.
                            black = (bits, method)
                            continue
                        return bits, method
                    if black is not None:
                        return black
                    raise CaptureFailed(f"window {hwnd:#x}: PrintWindow failed with every flag")
                finally:
                    api.DeleteObject(bitmap)
            finally:
                api.DeleteDC(memory_dc)
        finally:
            api.ReleaseDC(hwnd, window_dc)

    def _try_print(self, hwnd: int, memory_dc: int, flags: int) -> bool:
        try:
            return bool(self._api.PrintWindow(hwnd, memory_dc, flags))
        except OSError as exc:
            logger.debug("PrintWindow(%#x, flags=%d) raised %s", hwnd, flags, exc)
            return False

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


def _process_name(pid: int) -> str | None:
    try:
        return str(psutil.Process(pid).name())
    except (psutil.Error, OSError):
        return None


class PyWin32Api:  # pragma: no cover - needs Windows; the source is tested with a fake
    """``Win32Api`` on pywin32 (win32gui) and ctypes (PrintWindow, GetDIBits)."""

    def __init__(self) -> None:
        try:
            import ctypes
            from ctypes import wintypes

            import pywintypes
            import win32gui
        except ImportError as exc:
            raise CaptureUnavailable(
                f"Windows capture needs pywin32 (pip install pywin32): {exc}"
            ) from exc
        self._gui: Any = win32gui
        self._error: type[Exception] = pywintypes.error
        self._ctypes: Any = ctypes
        windll: Any = ctypes.windll  # type: ignore[attr-defined]
        self._user32: Any = windll.user32
        self._gdi32: Any = windll.gdi32
        self._user32.PrintWindow.argtypes = [wintypes.HWND, wintypes.HDC, wintypes.UINT]
        self._user32.PrintWindow.restype = wintypes.BOOL
        try:  # real pixels, not DPI-virtualised ones
            self._user32.SetProcessDPIAware()
        except OSError:
            logger.debug("SetProcessDPIAware is not available")

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._gui, name)(*args)
        except self._error as exc:
            raise OSError(f"{name}: {exc}") from exc

    def EnumWindows(self) -> list[int]:
        handles: list[int] = []
        self._call("EnumWindows", lambda hwnd, acc: acc.append(int(hwnd)) or True, handles)
        return handles

    def IsWindow(self, hwnd: int) -> bool:
        return bool(self._gui.IsWindow(hwnd))

    def IsWindowVisible(self, hwnd: int) -> bool:
        return bool(self._gui.IsWindowVisible(hwnd))

    def IsIconic(self, hwnd: int) -> bool:
        return bool(self._gui.IsIconic(hwnd))

    def GetWindowText(self, hwnd: int) -> str:
        return str(self._call("GetWindowText", hwnd))

    def GetWindowRect(self, hwnd: int) -> tuple[int, int, int, int]:
        left, top, right, bottom = self._call("GetWindowRect", hwnd)
        return int(left), int(top), int(right), int(bottom)

    def GetWindowThreadProcessId(self, hwnd: int) -> tuple[int, int]:
        import win32process

        try:
            thread, pid = win32process.GetWindowThreadProcessId(hwnd)
        except self._error as exc:
            raise OSError(f"GetWindowThreadProcessId: {exc}") from exc
        return int(thread), int(pid)

    def GetWindowDC(self, hwnd: int) -> int:
        return int(self._call("GetWindowDC", hwnd))

    def ReleaseDC(self, hwnd: int, hdc: int) -> None:
        self._call("ReleaseDC", hwnd, hdc)

    def CreateCompatibleDC(self, hdc: int) -> int:
        return int(self._call("CreateCompatibleDC", hdc))

    def DeleteDC(self, hdc: int) -> None:
        self._call("DeleteDC", hdc)

    def CreateCompatibleBitmap(self, hdc: int, width: int, height: int) -> int:
        return int(self._call("CreateCompatibleBitmap", hdc, width, height))

    def SelectObject(self, hdc: int, obj: int) -> int:
        return int(self._call("SelectObject", hdc, obj))

    def DeleteObject(self, obj: int) -> None:
        self._call("DeleteObject", obj)

    def PrintWindow(self, hwnd: int, hdc: int, flags: int) -> bool:
        return bool(self._user32.PrintWindow(hwnd, hdc, flags))

    def GetBitmapBits(self, hdc: int, bitmap: int, width: int, height: int) -> bytes:
        ctypes = self._ctypes
        from ctypes import wintypes

        class BitmapInfoHeader(ctypes.Structure):  # type: ignore[name-defined,misc]
            _fields_ = [
                ("biSize", wintypes.DWORD),
                ("biWidth", wintypes.LONG),
                ("biHeight", wintypes.LONG),
                ("biPlanes", wintypes.WORD),
                ("biBitCount", wintypes.WORD),
                ("biCompression", wintypes.DWORD),
                ("biSizeImage", wintypes.DWORD),
                ("biXPelsPerMeter", wintypes.LONG),
                ("biYPelsPerMeter", wintypes.LONG),
                ("biClrUsed", wintypes.DWORD),
                ("biClrImportant", wintypes.DWORD),
            ]

        header = BitmapInfoHeader()
        header.biSize = ctypes.sizeof(BitmapInfoHeader)
        header.biWidth = width
        header.biHeight = -height  # negative: top-down rows
        header.biPlanes = 1
        header.biBitCount = 32
        header.biCompression = 0  # BI_RGB
        buffer = ctypes.create_string_buffer(width * height * 4)
        lines = self._gdi32.GetDIBits(
            hdc,
            bitmap,
            0,
            height,
            buffer,
            ctypes.byref(header),
            0,  # DIB_RGB_COLORS
        )
        if lines != height:
            raise OSError(f"GetDIBits copied {lines} of {height} lines")
        return bytes(buffer.raw)

    def ShowWindow(self, hwnd: int, command: int) -> None:
        self._gui.ShowWindow(hwnd, command)

    def SetForegroundWindow(self, hwnd: int) -> None:
        self._call("SetForegroundWindow", hwnd)

    def GetForegroundWindow(self) -> int:
        return int(self._call("GetForegroundWindow"))
