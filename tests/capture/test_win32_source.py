"""Win32Source on Linux, against a fake Win32 layer that records every GDI call."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import psutil
import pytest

from trade_analysis.capture.sources.base import CaptureFailed, WindowGone
from trade_analysis.capture.sources.win32 import (
    PW_PLAIN,
    PW_RENDERFULLCONTENT,
    BlankFrame,
    Win32Source,
)


@dataclass
class FakeWindow:
    title: str
    rect: tuple[int, int, int, int]
    pid: int
    visible: bool = True
    iconic: bool = False
    cloaked: bool = False
    # BGRA pixels the window "prints" as; None: PrintWindow returns False.
    full_content: np.ndarray | None = None
    plain: np.ndarray | None = None
    # BGRA pixels BitBlt copies from its DC; None: BitBlt returns False.
    on_screen: np.ndarray | None = None


@dataclass
class FakeWin32:
    windows: dict[int, FakeWindow]
    print_raises: bool = False
    bits_raise: bool = False
    calls: list[tuple[object, ...]] = field(default_factory=list)
    live_dcs: set[int] = field(default_factory=set)
    live_bitmaps: set[int] = field(default_factory=set)
    selected: dict[int, int] = field(default_factory=dict)  # dc -> object selected in it
    _next: int = 100
    _printed: dict[int, np.ndarray] = field(default_factory=dict)  # bitmap -> pixels
    foreground: int | None = None
    images: dict[int, str] = field(default_factory=dict)  # pid -> image path
    window_dcs: dict[int, int] = field(default_factory=dict)  # window DC -> hwnd

    def _handle(self) -> int:
        self._next += 1
        return self._next

    def _window(self, hwnd: int) -> FakeWindow:
        if hwnd not in self.windows:
            raise OSError(f"invalid window handle {hwnd}")
        return self.windows[hwnd]

    def EnumWindows(self) -> list[int]:
        return list(self.windows)

    def IsWindow(self, hwnd: int) -> bool:
        return hwnd in self.windows

    def IsWindowVisible(self, hwnd: int) -> bool:
        return hwnd in self.windows and self.windows[hwnd].visible

    def IsIconic(self, hwnd: int) -> bool:
        return self._window(hwnd).iconic

    def IsCloaked(self, hwnd: int) -> bool:
        return self._window(hwnd).cloaked

    def GetWindowText(self, hwnd: int) -> str:
        return self._window(hwnd).title

    def QueryFullProcessImageName(self, pid: int) -> str:
        if pid not in self.images:
            raise OSError(f"OpenProcess: no process {pid}")
        return self.images[pid]

    def GetWindowRect(self, hwnd: int) -> tuple[int, int, int, int]:
        return self._window(hwnd).rect

    def GetWindowThreadProcessId(self, hwnd: int) -> tuple[int, int]:
        return 1, self._window(hwnd).pid

    def GetWindowDC(self, hwnd: int) -> int:
        self._window(hwnd)
        dc = self._handle()
        self.live_dcs.add(dc)
        self.window_dcs[dc] = hwnd
        self.calls.append(("GetWindowDC", hwnd))
        return dc

    def ReleaseDC(self, hwnd: int, hdc: int) -> None:
        self.live_dcs.remove(hdc)
        self.calls.append(("ReleaseDC", hwnd))

    def CreateCompatibleDC(self, hdc: int) -> int:
        assert hdc in self.live_dcs
        dc = self._handle()
        self.live_dcs.add(dc)
        self.selected[dc] = 0  # the DC's stock bitmap
        return dc

    def DeleteDC(self, hdc: int) -> None:
        assert self.selected.get(hdc) == 0, "DC deleted with our bitmap still selected"
        self.live_dcs.remove(hdc)

    def CreateCompatibleBitmap(self, hdc: int, width: int, height: int) -> int:
        bitmap = self._handle()
        self.live_bitmaps.add(bitmap)
        return bitmap

    def SelectObject(self, hdc: int, obj: int) -> int:
        previous = self.selected[hdc]
        self.selected[hdc] = obj
        return previous

    def DeleteObject(self, obj: int) -> None:
        assert obj not in self.selected.values(), "bitmap deleted while selected"
        self.live_bitmaps.remove(obj)

    def PrintWindow(self, hwnd: int, hdc: int, flags: int) -> bool:
        self.calls.append(("PrintWindow", flags))
        if self.print_raises:
            raise OSError("PrintWindow: access denied")
        window = self._window(hwnd)
        pixels = window.full_content if flags == PW_RENDERFULLCONTENT else window.plain
        if pixels is None:
            return False
        self._printed[self.selected[hdc]] = pixels
        return True

    def BitBlt(self, destination: int, width: int, height: int, source: int) -> bool:
        self.calls.append(("BitBlt",))
        assert source in self.live_dcs and destination in self.live_dcs
        pixels = self.windows[self.window_dcs[source]].on_screen
        if pixels is None:
            return False
        self._printed[self.selected[destination]] = pixels
        return True

    def GetBitmapBits(self, hdc: int, bitmap: int, width: int, height: int) -> bytes:
        assert bitmap not in self.selected.values(), "GetDIBits needs the bitmap deselected"
        if self.bits_raise:
            raise OSError("GetDIBits copied 0 lines")
        return self._printed[bitmap].tobytes()

    def ShowWindow(self, hwnd: int, command: int) -> None:
        self.calls.append(("ShowWindow", hwnd, command))
        self._window(hwnd).iconic = False

    def SetForegroundWindow(self, hwnd: int) -> None:
        self._window(hwnd)
        self.foreground = hwnd

    def GetForegroundWindow(self) -> int:
        return self.foreground or 0

    def assert_all_released(self) -> None:
        assert self.live_dcs == set(), f"device contexts leaked: {self.live_dcs}"
        assert self.live_bitmaps == set(), f"bitmaps leaked: {self.live_bitmaps}"


def bgra(width: int, height: int, b: int, g: int, r: int) -> np.ndarray:
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[:] = (b, g, r, 255)
    return pixels


def chart_window(**overrides: object) -> FakeWindow:
    pixels = bgra(4, 3, 10, 20, 30)
    pixels[1, 2] = (1, 2, 3, 0)  # one distinct pixel to check orientation
    defaults: dict[str, object] = {
        "title": "AAPL 175.23 - Robinhood",
        "rect": (100, 50, 104, 53),
        "pid": os.getpid(),
        "full_content": pixels,
        "plain": bgra(4, 3, 200, 200, 200),
    }
    defaults.update(overrides)
    return FakeWindow(**defaults)  # type: ignore[arg-type]


def test_lists_visible_titled_windows_with_process_and_geometry() -> None:
    api = FakeWin32(
        {
            1: chart_window(),
            2: chart_window(title=""),
            3: chart_window(title="Hidden", visible=False),
            4: chart_window(title="Other", rect=(-8, -8, 1928, 1048)),
            5: chart_window(title="Minimised", iconic=True),
        }
    )
    infos = Win32Source(api).list_windows()
    assert [(i.hwnd, i.title) for i in infos] == [(1, "AAPL 175.23 - Robinhood"), (4, "Other")]
    assert infos[0].process == psutil.Process(os.getpid()).name()
    assert (infos[1].x, infos[1].y, infos[1].width, infos[1].height) == (-8, -8, 1936, 1056)


def test_process_of_an_exited_pid_is_none() -> None:
    api = FakeWin32({1: chart_window(pid=2**22 + 12345)})
    assert Win32Source(api).list_windows()[0].process is None


def test_full_content_print_is_tried_first_and_converted_bgra_to_bgr() -> None:
    api = FakeWin32({1: chart_window()})
    frame = Win32Source(api).capture(1)
    assert frame.method == "printwindow"
    assert [c for c in api.calls if c[0] == "PrintWindow"] == [
        ("PrintWindow", PW_RENDERFULLCONTENT)
    ]
    assert frame.pixels.shape == (3, 4, 3)
    assert frame.pixels.dtype == np.uint8
    assert tuple(frame.pixels[0, 0]) == (10, 20, 30)  # B, G, R kept in that order
    assert tuple(frame.pixels[1, 2]) == (1, 2, 3)
    assert frame.title == "AAPL 175.23 - Robinhood"
    assert frame.captured_at.utcoffset() is not None
    api.assert_all_released()


def test_plain_print_when_full_content_fails() -> None:
    api = FakeWin32({1: chart_window(full_content=None)})
    frame = Win32Source(api).capture(1)
    assert frame.method == "printwindow-plain"
    assert [c[1] for c in api.calls if c[0] == "PrintWindow"] == [PW_RENDERFULLCONTENT, PW_PLAIN]
    assert tuple(frame.pixels[0, 0]) == (200, 200, 200)
    api.assert_all_released()


def test_plain_print_when_full_content_comes_back_black() -> None:
    black = np.zeros((3, 4, 4), dtype=np.uint8)
    api = FakeWin32({1: chart_window(full_content=black)})
    frame = Win32Source(api).capture(1)
    assert frame.method == "printwindow-plain"
    api.assert_all_released()


def test_everything_released_when_print_window_raises() -> None:
    api = FakeWin32({1: chart_window()}, print_raises=True)
    with pytest.raises(CaptureFailed, match="printwindow failed, printwindow-plain failed"):
        Win32Source(api).capture(1)
    api.assert_all_released()


def test_everything_released_when_reading_the_bitmap_raises() -> None:
    api = FakeWin32({1: chart_window()}, bits_raise=True)
    with pytest.raises(CaptureFailed, match="GetDIBits"):
        Win32Source(api).capture(1)
    api.assert_all_released()
    assert ("ReleaseDC", 1) in api.calls


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        (None, "closed"),
        (chart_window(visible=False), "not visible"),
        (chart_window(iconic=True), "minimised"),
    ],
)
def test_gone_or_hidden_window_is_window_gone(window: FakeWindow | None, reason: str) -> None:
    api = FakeWin32({1: window} if window is not None else {})
    with pytest.raises(WindowGone, match=reason) as caught:
        Win32Source(api).capture(1)
    assert caught.value.hwnd == 1
    api.assert_all_released()


def test_window_closing_during_capture_is_window_gone() -> None:
    api = FakeWin32({1: chart_window()})

    def vanish(hwnd: int) -> int:
        del api.windows[hwnd]
        raise OSError("invalid window handle")

    api.GetWindowDC = vanish  # type: ignore[method-assign]
    with pytest.raises(WindowGone):
        Win32Source(api).capture(1)


def test_bring_to_front_restores_a_minimised_window() -> None:
    api = FakeWin32({1: chart_window(iconic=True)})
    source = Win32Source(api)
    source.bring_to_front(1)
    assert api.foreground == 1
    assert ("ShowWindow", 1, 9) in api.calls
    with pytest.raises(WindowGone):
        source.bring_to_front(2)


def test_the_focus_goes_back_to_the_window_that_had_it() -> None:
    api = FakeWin32({1: chart_window(), 2: chart_window()})
    api.foreground = 2
    source = Win32Source(api)
    previous = source.bring_to_front(1)
    assert (previous, api.foreground) == (2, 1)
    source.give_focus_back(2)
    assert api.foreground == 2
    del api.windows[2]
    source.give_focus_back(2)  # closed meanwhile: nothing to give back to, no error


def test_cloaked_windows_are_not_listed() -> None:
    api = FakeWin32({1: chart_window(), 2: chart_window(title="Elsewhere", cloaked=True)})
    assert [i.hwnd for i in Win32Source(api).list_windows()] == [1]


def test_process_named_by_its_image_where_psutil_cannot() -> None:
    gone_pid = 2**22 + 4321  # no such process for psutil (as every pid under Wine)
    api = FakeWin32(
        {1: chart_window(pid=gone_pid)},
        images={gone_pid: "C:\\Program Files\\Broker\\broker.exe"},
    )
    assert Win32Source(api).list_windows()[0].process == "broker.exe"


BLACK = np.zeros((3, 4, 4), dtype=np.uint8)


def test_bitblt_when_printing_comes_back_black() -> None:
    """Wine: PrintWindow of another process's window succeeds with a black bitmap."""
    screen = bgra(4, 3, 40, 50, 60)
    api = FakeWin32({1: chart_window(full_content=BLACK, plain=BLACK, on_screen=screen)})
    frame = Win32Source(api).capture(1)
    assert frame.method == "bitblt"
    assert tuple(frame.pixels[2, 3]) == (40, 50, 60)
    assert [c[0] for c in api.calls if c[0] in ("PrintWindow", "BitBlt")] == [
        "PrintWindow",
        "PrintWindow",
        "BitBlt",
    ]
    api.assert_all_released()


def test_bitblt_when_printing_fails() -> None:
    screen = bgra(4, 3, 40, 50, 60)
    api = FakeWin32({1: chart_window(full_content=None, plain=None, on_screen=screen)})
    assert Win32Source(api).capture(1).method == "bitblt"
    api.assert_all_released()


def test_an_all_black_frame_is_never_handed_out() -> None:
    api = FakeWin32({1: chart_window(full_content=BLACK, plain=None, on_screen=BLACK)})
    with pytest.raises(BlankFrame, match="all-black") as caught:
        Win32Source(api).capture(1)
    assert "printwindow all black" in str(caught.value)
    assert "printwindow-plain failed" in str(caught.value)
    api.assert_all_released()


def test_no_method_working_is_a_capture_failure_with_everything_released() -> None:
    api = FakeWin32({1: chart_window(full_content=None, plain=None, on_screen=None)})
    with pytest.raises(CaptureFailed, match="no capture method worked"):
        Win32Source(api).capture(1)
    api.assert_all_released()


def test_a_window_closed_while_it_is_drawn_is_window_gone_not_a_failure() -> None:
    api = FakeWin32({1: chart_window(full_content=None, plain=None)})

    def closes(destination: int, width: int, height: int, source: int) -> bool:
        del api.windows[1]  # BitBlt from a destroyed window's DC copies nothing
        return False

    api.BitBlt = closes  # type: ignore[method-assign]
    with pytest.raises(WindowGone, match="closed"):
        Win32Source(api).capture(1)
    api.assert_all_released()
