"""``Win32Api`` on ctypes, every call declared: user32, gdi32, kernel32, dwmapi, shcore.

Importable only on Windows (it loads the system DLLs); ``Win32Source`` imports it when it
is opened without an api of its own. Handles are pointer-sized (``c_void_p``): ctypes'
default, a C ``int``, cuts a 64-bit handle to 32 bits. Handles come back as plain ints
(0 for NULL). Opening it makes the process per-monitor DPI aware where Windows offers it,
so window rectangles and frames are in physical pixels on scaled monitors.
"""

from __future__ import annotations

import ctypes
import logging
from ctypes import wintypes
from typing import Any

from trade_analysis.capture.sources.base import CaptureUnavailable

logger = logging.getLogger(__name__)

SRCCOPY = 0x00CC0020
DWMWA_CLOAKED = 14
GR_GDIOBJECTS = 0
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
# DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 (Windows 10 1703+): a pseudo-handle of -4.
PER_MONITOR_AWARE_V2 = -4
PROCESS_PER_MONITOR_DPI_AWARE = 2  # shcore's SetProcessDpiAwareness (Windows 8.1+)
DIB_RGB_COLORS = 0
BI_RGB = 0


class BITMAPINFOHEADER(ctypes.Structure):
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


class BITMAPINFO(ctypes.Structure):
    # Room for three colour masks, though a 32-bit BI_RGB bitmap has no colour table.
    _fields_ = [("bmiHeader", BITMAPINFOHEADER), ("bmiColors", wintypes.DWORD * 3)]


def _load(name: str) -> Any:
    win_dll: Any = getattr(ctypes, "WinDLL")  # noqa: B009 - Windows only: mypy on Linux
    return win_dll(name, use_last_error=True)


def _declare(dll: Any, name: str, restype: Any, *argtypes: Any) -> Any:
    function = getattr(dll, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


def _error(name: str) -> OSError:
    code = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
    error: Any = getattr(ctypes, "FormatError")(code) if code else "no error code"  # noqa: B009
    return OSError(code, f"{name}: {error}")


HWND, HDC, HGDIOBJ, HANDLE = wintypes.HWND, wintypes.HDC, wintypes.HGDIOBJ, wintypes.HANDLE
BOOL, UINT, DWORD, INT = wintypes.BOOL, wintypes.UINT, wintypes.DWORD, ctypes.c_int


class CtypesWin32Api:
    """The Win32 calls ``Win32Source`` makes; failures raise ``OSError``."""

    def __init__(self) -> None:
        try:
            self._user32 = _load("user32")
            self._gdi32 = _load("gdi32")
            self._kernel32 = _load("kernel32")
        except (OSError, AttributeError) as exc:
            raise CaptureUnavailable(f"Windows capture needs user32 and gdi32: {exc}") from exc
        self._dwmapi = self._optional("dwmapi")
        self._declare_all()
        self._enum_proc_type: Any = getattr(ctypes, "WINFUNCTYPE")(  # noqa: B009
            BOOL, HWND, wintypes.LPARAM
        )
        self._user32.EnumWindows.argtypes = [self._enum_proc_type, wintypes.LPARAM]
        self._become_dpi_aware()

    @staticmethod
    def _optional(name: str) -> Any:
        try:
            return _load(name)
        except OSError:
            return None

    def _declare_all(self) -> None:
        u, g, k = self._user32, self._gdi32, self._kernel32
        _declare(u, "EnumWindows", BOOL)  # argtypes set once the callback type exists
        for name in ("IsWindow", "IsWindowVisible", "IsIconic", "SetForegroundWindow"):
            _declare(u, name, BOOL, HWND)
        _declare(u, "GetWindowTextLengthW", INT, HWND)
        _declare(u, "GetWindowTextW", INT, HWND, wintypes.LPWSTR, INT)
        _declare(u, "GetWindowRect", BOOL, HWND, ctypes.POINTER(wintypes.RECT))
        _declare(u, "GetWindowThreadProcessId", DWORD, HWND, ctypes.POINTER(DWORD))
        _declare(u, "GetWindowDC", HDC, HWND)
        _declare(u, "ReleaseDC", INT, HWND, HDC)
        _declare(u, "PrintWindow", BOOL, HWND, HDC, UINT)
        _declare(u, "ShowWindow", BOOL, HWND, INT)
        _declare(u, "GetForegroundWindow", HWND)
        _declare(u, "GetGuiResources", DWORD, HANDLE, DWORD)
        _declare(g, "CreateCompatibleDC", HDC, HDC)
        _declare(g, "DeleteDC", BOOL, HDC)
        _declare(g, "CreateCompatibleBitmap", wintypes.HBITMAP, HDC, INT, INT)
        _declare(g, "SelectObject", HGDIOBJ, HDC, HGDIOBJ)
        _declare(g, "DeleteObject", BOOL, HGDIOBJ)
        _declare(g, "BitBlt", BOOL, HDC, INT, INT, INT, INT, HDC, INT, INT, DWORD)
        _declare(g, "GetDIBits", INT, HDC, wintypes.HBITMAP, UINT, UINT, wintypes.LPVOID,
                 ctypes.POINTER(BITMAPINFO), UINT)  # fmt: skip
        _declare(k, "GetCurrentProcess", HANDLE)
        _declare(k, "OpenProcess", HANDLE, DWORD, BOOL, DWORD)
        _declare(k, "CloseHandle", BOOL, HANDLE)
        _declare(k, "QueryFullProcessImageNameW", BOOL, HANDLE, DWORD, wintypes.LPWSTR,
                 ctypes.POINTER(DWORD))  # fmt: skip
        if self._dwmapi is not None:
            _declare(self._dwmapi, "DwmGetWindowAttribute", ctypes.c_long, HWND, DWORD,
                     wintypes.LPVOID, DWORD)  # fmt: skip

    def _become_dpi_aware(self) -> None:
        """Per-monitor (v2) where Windows 10 offers it, else 8.1's, else system-aware."""
        user32 = self._user32
        if hasattr(user32, "SetProcessDpiAwarenessContext"):
            _declare(user32, "SetProcessDpiAwarenessContext", BOOL, HANDLE)
            if user32.SetProcessDpiAwarenessContext(PER_MONITOR_AWARE_V2):
                return
        shcore = self._optional("shcore")
        if shcore is not None and hasattr(shcore, "SetProcessDpiAwareness"):
            _declare(shcore, "SetProcessDpiAwareness", ctypes.c_long, INT)
            if shcore.SetProcessDpiAwareness(PROCESS_PER_MONITOR_DPI_AWARE) == 0:
                return
        if hasattr(user32, "SetProcessDPIAware"):
            _declare(user32, "SetProcessDPIAware", BOOL)
            user32.SetProcessDPIAware()
        # Already set (by a manifest or an earlier call) is not an error worth a word.

    # -- windows -----------------------------------------------------------------------

    def EnumWindows(self) -> list[int]:
        handles: list[int] = []

        def collect(hwnd: int | None, _param: int) -> bool:
            handles.append(hwnd or 0)
            return True

        if not self._user32.EnumWindows(self._enum_proc_type(collect), 0):
            raise _error("EnumWindows")
        return handles

    def IsWindow(self, hwnd: int) -> bool:
        return bool(self._user32.IsWindow(hwnd))

    def IsWindowVisible(self, hwnd: int) -> bool:
        return bool(self._user32.IsWindowVisible(hwnd))

    def IsIconic(self, hwnd: int) -> bool:
        return bool(self._user32.IsIconic(hwnd))

    def IsCloaked(self, hwnd: int) -> bool:
        if self._dwmapi is None:
            return False
        cloaked = DWORD(0)
        result = self._dwmapi.DwmGetWindowAttribute(
            hwnd, DWMWA_CLOAKED, ctypes.byref(cloaked), ctypes.sizeof(cloaked)
        )
        return result == 0 and cloaked.value != 0  # an error: no DWM, so not cloaked

    def GetWindowText(self, hwnd: int) -> str:
        length = self._user32.GetWindowTextLengthW(hwnd)
        if length <= 0:
            if not self.IsWindow(hwnd):
                raise _error("GetWindowTextLengthW")
            return ""
        buffer = ctypes.create_unicode_buffer(length + 1)
        self._user32.GetWindowTextW(hwnd, buffer, length + 1)
        return buffer.value

    def GetWindowRect(self, hwnd: int) -> tuple[int, int, int, int]:
        rect = wintypes.RECT()
        if not self._user32.GetWindowRect(hwnd, ctypes.byref(rect)):
            raise _error("GetWindowRect")
        return rect.left, rect.top, rect.right, rect.bottom

    def GetWindowThreadProcessId(self, hwnd: int) -> tuple[int, int]:
        pid = DWORD(0)
        thread = self._user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        if not thread:
            raise _error("GetWindowThreadProcessId")
        return int(thread), int(pid.value)

    def QueryFullProcessImageName(self, pid: int) -> str:
        kernel32 = self._kernel32
        process = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not process:
            raise _error("OpenProcess")
        try:
            size = DWORD(1024)
            buffer = ctypes.create_unicode_buffer(size.value)
            if not kernel32.QueryFullProcessImageNameW(process, 0, buffer, ctypes.byref(size)):
                raise _error("QueryFullProcessImageNameW")
            return buffer.value
        finally:
            kernel32.CloseHandle(process)

    def ShowWindow(self, hwnd: int, command: int) -> None:
        self._user32.ShowWindow(hwnd, command)  # returns the previous state, not success

    def SetForegroundWindow(self, hwnd: int) -> None:
        if not self._user32.SetForegroundWindow(hwnd):
            raise _error("SetForegroundWindow")

    def GetForegroundWindow(self) -> int:
        return int(self._user32.GetForegroundWindow() or 0)

    # -- device contexts and bitmaps ------------------------------------------------------

    def GetWindowDC(self, hwnd: int) -> int:
        hdc = self._user32.GetWindowDC(hwnd)
        if not hdc:
            raise _error("GetWindowDC")
        return int(hdc)

    def ReleaseDC(self, hwnd: int, hdc: int) -> None:
        if not self._user32.ReleaseDC(hwnd, hdc):
            raise _error("ReleaseDC")

    def CreateCompatibleDC(self, hdc: int) -> int:
        memory = self._gdi32.CreateCompatibleDC(hdc)
        if not memory:
            raise _error("CreateCompatibleDC")
        return int(memory)

    def DeleteDC(self, hdc: int) -> None:
        if not self._gdi32.DeleteDC(hdc):
            raise _error("DeleteDC")

    def CreateCompatibleBitmap(self, hdc: int, width: int, height: int) -> int:
        bitmap = self._gdi32.CreateCompatibleBitmap(hdc, width, height)
        if not bitmap:
            raise _error("CreateCompatibleBitmap")
        return int(bitmap)

    def SelectObject(self, hdc: int, obj: int) -> int:
        previous = self._gdi32.SelectObject(hdc, obj)
        if not previous:
            raise _error("SelectObject")
        return int(previous)

    def DeleteObject(self, obj: int) -> None:
        if not self._gdi32.DeleteObject(obj):
            raise _error("DeleteObject")

    def PrintWindow(self, hwnd: int, hdc: int, flags: int) -> bool:
        return bool(self._user32.PrintWindow(hwnd, hdc, flags))

    def BitBlt(self, destination: int, width: int, height: int, source: int) -> bool:
        return bool(self._gdi32.BitBlt(destination, 0, 0, width, height, source, 0, 0, SRCCOPY))

    def GetBitmapBits(self, hdc: int, bitmap: int, width: int, height: int) -> bytes:
        info = BITMAPINFO()
        header = info.bmiHeader
        header.biSize = ctypes.sizeof(BITMAPINFOHEADER)
        header.biWidth = width
        header.biHeight = -height  # negative: top-down rows
        header.biPlanes = 1
        header.biBitCount = 32
        header.biCompression = BI_RGB
        buffer = ctypes.create_string_buffer(width * height * 4)
        lines = self._gdi32.GetDIBits(
            hdc, bitmap, 0, height, buffer, ctypes.byref(info), DIB_RGB_COLORS
        )
        if lines != height:
            raise OSError(f"GetDIBits copied {lines} of {height} lines")
        return buffer.raw

    # -- for tests and benchmarks ------------------------------------------------------------

    def gdi_object_count(self) -> int:
        """GDI objects this process holds (GetGuiResources); 0 where it is not implemented."""
        return int(self._user32.GetGuiResources(self._kernel32.GetCurrentProcess(), GR_GDIOBJECTS))
