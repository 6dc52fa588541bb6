"""A Win32 chart window for tests, run by Windows CPython (under Wine in the rig).

``python.exe chart_win32.py --title "WINE 100.00 - Robinhood" --control PATH``

A plain Win32 program on ctypes: RegisterClassExW, CreateWindowExW, GDI painting (double
buffered), a timer. Each tick extends a ``ChartSeries`` (the X11 demo window's series) in
the current trend, redraws it as a line or as candles and puts the last price in the
title, as a broker's window does. The trend is read from the ``--control`` file at each
tick (``up``, ``down`` or ``flat``), so a test decides when the chart rises and when it
falls. It answers ``WM_PRINTCLIENT`` by drawing into the given device context, as
well-behaved applications do. Once shown it prints ``READY <hwnd> <pid>`` on stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Sequence
from ctypes import wintypes
from pathlib import Path

from trade_analysis.demo.chart_window import TRENDS, ChartSeries, price_in_title, title_with_price

LRESULT = ctypes.c_ssize_t
WNDPROC = ctypes.WINFUNCTYPE(
    LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM
)

WM_DESTROY = 0x0002
WM_PAINT = 0x000F
WM_ERASEBKGND = 0x0014
WM_TIMER = 0x0113
WM_PRINTCLIENT = 0x0318
WS_OVERLAPPEDWINDOW = 0x00CF0000
SW_SHOWNORMAL = 1
PS_SOLID = 0
SRCCOPY = 0x00CC0020
TIMER_ID = 1


class WNDCLASSEXW(ctypes.Structure):
    _fields_ = [
        ("cbSize", wintypes.UINT),
        ("style", wintypes.UINT),
        ("lpfnWndProc", WNDPROC),
        ("cbClsExtra", ctypes.c_int),
        ("cbWndExtra", ctypes.c_int),
        ("hInstance", wintypes.HINSTANCE),
        ("hIcon", wintypes.HICON),
        ("hCursor", wintypes.HANDLE),
        ("hbrBackground", wintypes.HBRUSH),
        ("lpszMenuName", wintypes.LPCWSTR),
        ("lpszClassName", wintypes.LPCWSTR),
        ("hIconSm", wintypes.HICON),
    ]


class PAINTSTRUCT(ctypes.Structure):
    _fields_ = [
        ("hdc", wintypes.HDC),
        ("fErase", wintypes.BOOL),
        ("rcPaint", wintypes.RECT),
        ("fRestore", wintypes.BOOL),
        ("fIncUpdate", wintypes.BOOL),
        ("rgbReserved", ctypes.c_byte * 32),
    ]


def _declare(dll: ctypes.WinDLL, name: str, restype: object, *argtypes: object) -> None:
    function = getattr(dll, name)
    function.restype = restype
    function.argtypes = list(argtypes)


user32 = ctypes.WinDLL("user32", use_last_error=True)
gdi32 = ctypes.WinDLL("gdi32", use_last_error=True)
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
U, INT, B = wintypes.UINT, ctypes.c_int, wintypes.BOOL
_declare(kernel32, "GetModuleHandleW", wintypes.HMODULE, wintypes.LPCWSTR)
_declare(user32, "RegisterClassExW", wintypes.ATOM, ctypes.POINTER(WNDCLASSEXW))
_declare(user32, "CreateWindowExW", wintypes.HWND, wintypes.DWORD, wintypes.LPCWSTR,
         wintypes.LPCWSTR, wintypes.DWORD, INT, INT, INT, INT, wintypes.HWND, wintypes.HMENU,
         wintypes.HINSTANCE, wintypes.LPVOID)  # fmt: skip
_declare(user32, "DefWindowProcW", LRESULT, wintypes.HWND, U, wintypes.WPARAM, wintypes.LPARAM)
_declare(user32, "ShowWindow", B, wintypes.HWND, INT)
_declare(user32, "UpdateWindow", B, wintypes.HWND)
_declare(user32, "SetTimer", ctypes.c_size_t, wintypes.HWND, ctypes.c_size_t, U, ctypes.c_void_p)
_declare(user32, "GetMessageW", B, ctypes.POINTER(wintypes.MSG), wintypes.HWND, U, U)
_declare(user32, "TranslateMessage", B, ctypes.POINTER(wintypes.MSG))
_declare(user32, "DispatchMessageW", LRESULT, ctypes.POINTER(wintypes.MSG))
_declare(user32, "PostQuitMessage", None, INT)
_declare(user32, "BeginPaint", wintypes.HDC, wintypes.HWND, ctypes.POINTER(PAINTSTRUCT))
_declare(user32, "EndPaint", B, wintypes.HWND, ctypes.POINTER(PAINTSTRUCT))
_declare(user32, "GetClientRect", B, wintypes.HWND, ctypes.POINTER(wintypes.RECT))
_declare(user32, "InvalidateRect", B, wintypes.HWND, ctypes.POINTER(wintypes.RECT), B)
_declare(user32, "SetWindowTextW", B, wintypes.HWND, wintypes.LPCWSTR)
_declare(user32, "FillRect", INT, wintypes.HDC, ctypes.POINTER(wintypes.RECT), wintypes.HBRUSH)
_declare(gdi32, "CreateCompatibleDC", wintypes.HDC, wintypes.HDC)
_declare(gdi32, "CreateCompatibleBitmap", wintypes.HBITMAP, wintypes.HDC, INT, INT)
_declare(gdi32, "SelectObject", wintypes.HGDIOBJ, wintypes.HDC, wintypes.HGDIOBJ)
_declare(gdi32, "DeleteObject", B, wintypes.HGDIOBJ)
_declare(gdi32, "DeleteDC", B, wintypes.HDC)
_declare(
    gdi32, "BitBlt", B, wintypes.HDC, INT, INT, INT, INT, wintypes.HDC, INT, INT, wintypes.DWORD
)
_declare(gdi32, "CreateSolidBrush", wintypes.HBRUSH, wintypes.COLORREF)
_declare(gdi32, "CreatePen", wintypes.HPEN, INT, INT, wintypes.COLORREF)
_declare(gdi32, "Polyline", B, wintypes.HDC, ctypes.POINTER(wintypes.POINT), INT)
_declare(gdi32, "MoveToEx", B, wintypes.HDC, INT, INT, ctypes.POINTER(wintypes.POINT))
_declare(gdi32, "LineTo", B, wintypes.HDC, INT, INT)


def rgb(red: int, green: int, blue: int) -> int:
    return red | (green << 8) | (blue << 16)


BACKGROUND = rgb(255, 255, 255)
LINE = rgb(0, 200, 5)  # Robinhood's green
CANDLE_UP = rgb(0, 170, 90)
CANDLE_DOWN = rgb(220, 40, 40)


class ChartWindow:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.trend = self._control_trend() or options.trend
        self.series = ChartSeries(self.trend, price_in_title(options.title), seed=options.seed)
        self._proc = WNDPROC(self._window_proc)  # kept alive: Windows calls it
        instance = kernel32.GetModuleHandleW(None)
        window_class = WNDCLASSEXW(
            cbSize=ctypes.sizeof(WNDCLASSEXW),
            lpfnWndProc=self._proc,
            hInstance=instance,
            lpszClassName="TradeAnalysisWin32Chart",
        )
        if not user32.RegisterClassExW(ctypes.byref(window_class)):
            raise ctypes.WinError(ctypes.get_last_error())
        self.hwnd = user32.CreateWindowExW(
            0, "TradeAnalysisWin32Chart", options.title, WS_OVERLAPPEDWINDOW,
            options.x, options.y, options.width, options.height, None, None, instance, None,
        )  # fmt: skip
        if not self.hwnd:
            raise ctypes.WinError(ctypes.get_last_error())

    def _control_trend(self) -> str | None:
        if not self.options.control:
            return None
        try:
            text = Path(self.options.control).read_text().strip()
        except OSError:
            return None
        return text if text in TRENDS else None

    def _window_proc(self, hwnd: int, message: int, wparam: int, lparam: int) -> int:
        if message == WM_PAINT:
            paint = PAINTSTRUCT()
            hdc = user32.BeginPaint(hwnd, ctypes.byref(paint))
            self.paint(hdc)
            user32.EndPaint(hwnd, ctypes.byref(paint))
            return 0
        if message == WM_PRINTCLIENT:  # PrintWindow asks for the client area in its DC
            self.paint(wparam)
            return 0
        if message == WM_ERASEBKGND:
            return 1  # paint() covers every pixel
        if message == WM_TIMER:
            self.tick()
            return 0
        if message == WM_DESTROY:
            user32.PostQuitMessage(0)
            return 0
        return int(user32.DefWindowProcW(hwnd, message, wparam, lparam))

    def tick(self) -> None:
        trend = self._control_trend()
        if trend is not None and trend != self.series.trend:
            self.series.set_trend(trend)  # type: ignore[arg-type]
        price = self.series.extend()
        user32.SetWindowTextW(self.hwnd, title_with_price(self.options.title, price))
        user32.InvalidateRect(self.hwnd, None, False)

    def paint(self, hdc: int) -> None:
        """Draw into an off-screen bitmap, then copy it to ``hdc`` in one BitBlt."""
        rect = wintypes.RECT()
        user32.GetClientRect(self.hwnd, ctypes.byref(rect))
        width, height = max(rect.right, 2), max(rect.bottom, 2)
        memory = gdi32.CreateCompatibleDC(hdc)
        bitmap = gdi32.CreateCompatibleBitmap(hdc, width, height)
        previous = gdi32.SelectObject(memory, bitmap)
        try:
            brush = gdi32.CreateSolidBrush(BACKGROUND)
            user32.FillRect(memory, ctypes.byref(rect), brush)
            gdi32.DeleteObject(brush)
            if self.options.kind == "candles":
                self._draw_candles(memory, width, height)
            else:
                self._draw_line(memory, width, height)
            gdi32.BitBlt(hdc, 0, 0, width, height, memory, 0, 0, SRCCOPY)
        finally:
            gdi32.SelectObject(memory, previous)
            gdi32.DeleteObject(bitmap)
            gdi32.DeleteDC(memory)

    def _scale(self, width: int, height: int) -> tuple[float, float, float, float]:
        values = self.series.values
        low, high = min(values), max(values)
        return width * 0.04, height * 0.1, low, (high - low) or 1.0

    def _y(self, value: float, height: int, pad_y: float, low: float, span: float) -> int:
        return int(pad_y + (low + span - value) / span * (height - 2 * pad_y))

    def _draw_line(self, hdc: int, width: int, height: int) -> None:
        values = self.series.values
        pad_x, pad_y, low, span = self._scale(width, height)
        points = (wintypes.POINT * len(values))()
        for i, value in enumerate(values):
            points[i].x = int(pad_x + i * (width - 2 * pad_x) / (len(values) - 1))
            points[i].y = self._y(value, height, pad_y, low, span)
        pen = gdi32.CreatePen(PS_SOLID, 3, LINE)
        previous = gdi32.SelectObject(hdc, pen)
        gdi32.Polyline(hdc, points, len(values))
        gdi32.SelectObject(hdc, previous)
        gdi32.DeleteObject(pen)

    def _draw_candles(self, hdc: int, width: int, height: int) -> None:
        values = self.series.values
        pad_x, pad_y, low, span = self._scale(width, height)
        per_candle = 2
        count = len(values) // per_candle
        slot = (width - 2 * pad_x) / max(count, 1)
        for n in range(count):
            group = values[n * per_candle : (n + 1) * per_candle + 1]
            opening, closing = group[0], group[-1]
            colour = CANDLE_UP if closing >= opening else CANDLE_DOWN
            middle = int(pad_x + (n + 0.5) * slot)
            pen = gdi32.CreatePen(PS_SOLID, 1, colour)
            previous = gdi32.SelectObject(hdc, pen)
            gdi32.MoveToEx(hdc, middle, self._y(max(group), height, pad_y, low, span), None)
            gdi32.LineTo(hdc, middle, self._y(min(group), height, pad_y, low, span))
            gdi32.SelectObject(hdc, previous)
            gdi32.DeleteObject(pen)
            top = self._y(max(opening, closing), height, pad_y, low, span)
            bottom = max(self._y(min(opening, closing), height, pad_y, low, span), top + 1)
            half = max(int(slot * 0.3), 1)
            body = wintypes.RECT(middle - half, top, middle + half + 1, bottom + 1)
            brush = gdi32.CreateSolidBrush(colour)
            user32.FillRect(hdc, ctypes.byref(body), brush)
            gdi32.DeleteObject(brush)

    def run(self) -> int:
        user32.ShowWindow(self.hwnd, SW_SHOWNORMAL)
        user32.UpdateWindow(self.hwnd)
        if self.options.interval_ms > 0:
            user32.SetTimer(self.hwnd, TIMER_ID, self.options.interval_ms, None)
        print(f"READY {self.hwnd} {os.getpid()}", flush=True)
        message = wintypes.MSG()
        while user32.GetMessageW(ctypes.byref(message), None, 0, 0) > 0:
            user32.TranslateMessage(ctypes.byref(message))
            user32.DispatchMessageW(ctypes.byref(message))
        return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A Win32 chart window for tests.")
    parser.add_argument("--title", default="WINE 100.00 - Robinhood")
    parser.add_argument("--trend", choices=TRENDS, default="up")
    parser.add_argument("--control", help="file holding the trend to follow: up, down, flat")
    parser.add_argument("--kind", choices=("line", "candles"), default="line")
    parser.add_argument("--x", type=int, default=40)
    parser.add_argument("--y", type=int, default=40)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--interval-ms", type=int, default=500, help="0: a still chart")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(ChartWindow(parse_args(None)).run())
