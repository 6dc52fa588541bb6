"""The Win32 source on a real Win32 implementation: Windows CPython under Wine, with Win32
chart windows drawn by another process (chart_win32.py)."""

from __future__ import annotations

import pytest

from tests.support.polling import poll
from tests.windows.conftest import Windows

pytestmark = [pytest.mark.wine, pytest.mark.timeout(300)]

# Run on python.exe: the source's view of one window, as JSON on the last line.
CAPTURE = """
import json, sys
from trade_analysis.analysis import AnalysisSettings, analyze
from trade_analysis.capture.sources.win32 import Win32Source

hwnd = int(sys.argv[1])
with Win32Source() as source:
    listed = {w.hwnd: w for w in source.list_windows()}
    frame = source.capture(hwnd)
    observation = analyze(frame.pixels, frame.title, AnalysisSettings())
    info = listed.get(hwnd)
    print(json.dumps({
        "listed": info is not None,
        "process": info and info.process,
        "size": [info and info.width, info and info.height],
        "frame": [frame.width, frame.height],
        "method": frame.method,
        "title": frame.title,
        "ticker": observation.ticker,
        "price": observation.price and str(observation.price),
        "trend": observation.trend.value,
    }))
"""


def test_a_win32_chart_window_is_listed_with_its_process_and_read_right(
    windows: Windows,
) -> None:
    rising = windows.chart("WINE 100.00 - Robinhood", trend="up", x=20, y=20)
    falling = windows.chart("DOWN 250.00 - Robinhood", trend="down", kind="candles", x=700, y=20)
    up = windows.run_json(CAPTURE, str(rising.hwnd))
    down = windows.run_json(CAPTURE, str(falling.hwnd))
    for seen in (up, down):
        assert seen["listed"], seen
        assert seen["process"] == "python.exe", seen  # named by QueryFullProcessImageNameW
        assert seen["frame"] == seen["size"], seen  # the whole window, in physical pixels
        # Wine cannot PrintWindow another process's window (all black): BitBlt reads it.
        assert seen["method"] == "bitblt", seen
    assert (up["ticker"], up["trend"]) == ("WINE", "up"), up
    assert float(up["price"]) == float(up["title"].split()[1]), up
    assert (down["ticker"], down["trend"]) == ("DOWN", "down"), down


STATES = """
import ctypes, json, sys
from trade_analysis.capture.sources.base import WindowGone
from trade_analysis.capture.sources.win32 import Win32Source

user32 = ctypes.WinDLL("user32")
user32.ShowWindow.argtypes = [ctypes.c_void_p, ctypes.c_int]
hwnd = int(sys.argv[2])
with Win32Source() as source:
    if sys.argv[1] == "minimise":
        user32.ShowWindow(hwnd, 6)  # SW_MINIMIZE
    try:
        source.capture(hwnd)
        state = "captured"
    except WindowGone as exc:
        state = f"gone: {exc}"
    listed = hwnd in {w.hwnd for w in source.list_windows()}
    if sys.argv[1] == "minimise":
        previous = source.bring_to_front(hwnd)  # restores it
        after = source.capture(hwnd).method
    else:
        after = None
    print(json.dumps({"state": state, "listed": listed, "after": after}))
"""


def test_minimised_closed_and_restarted_windows(windows: Windows) -> None:
    chart = windows.chart("MINI 10.00 - Robinhood", x=40, y=40)
    minimised = windows.run_json(STATES, "minimise", str(chart.hwnd))
    assert "minimised" in minimised["state"], minimised
    assert minimised["after"] == "bitblt", minimised  # brought back, captured again

    chart.wine.stop()
    closed = windows.run_json(STATES, "capture", str(chart.hwnd))
    assert "closed" in closed["state"], closed
    assert closed["listed"] is False

    restarted = windows.chart("MINI 10.00 - Robinhood", x=40, y=40)
    assert restarted.hwnd != chart.hwnd
    again = windows.run_json(STATES, "capture", str(restarted.hwnd))
    assert again["state"] == "captured", again


FOCUS = """
import ctypes, json, sys, time
from trade_analysis.capture.sources.win32 import Win32Source

first, second = int(sys.argv[1]), int(sys.argv[2])
user32 = ctypes.WinDLL("user32")
user32.GetForegroundWindow.restype = ctypes.c_void_p

def foreground(expected):
    # Another process's window becomes the foreground one asynchronously (under Wine).
    deadline = time.monotonic() + 5
    while user32.GetForegroundWindow() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return user32.GetForegroundWindow()

with Win32Source() as source:
    source.bring_to_front(second)
    foreground(second)
    took_from = source.bring_to_front(first)
    front = foreground(first)
    source.give_focus_back(took_from)
    back = foreground(second)
    print(json.dumps({"took_from": took_from, "front": front, "back": back}))
"""


def test_bring_to_front_and_give_the_focus_back(windows: Windows) -> None:
    first = windows.chart("ONE 1.00 - Robinhood", x=10, y=10, interval_ms=0)
    second = windows.chart("TWO 2.00 - Robinhood", x=300, y=300, interval_ms=0)
    seen = windows.run_json(FOCUS, str(first.hwnd), str(second.hwnd))
    assert seen == {"took_from": second.hwnd, "front": first.hwnd, "back": second.hwnd}


# 1,000 captures through the real GDI. GetGuiResources counts the process's GDI objects on
# Windows; Wine's is a stub answering 0, so there every DC and bitmap a capture made is
# also asked for by GetObjectType after the capture: 0 means it was deleted.
GDI = """
import ctypes, json, sys
from trade_analysis.capture.sources.win32 import Win32Source
from trade_analysis.capture.sources.win32_ctypes import CtypesWin32Api

gdi32 = ctypes.WinDLL("gdi32")
gdi32.GetObjectType.argtypes = [ctypes.c_void_p]
gdi32.GetObjectType.restype = ctypes.c_uint32

class Recording(CtypesWin32Api):
    made = []
    def CreateCompatibleDC(self, hdc):
        handle = super().CreateCompatibleDC(hdc)
        self.made.append(handle)
        return handle
    def CreateCompatibleBitmap(self, hdc, width, height):
        handle = super().CreateCompatibleBitmap(hdc, width, height)
        self.made.append(handle)
        return handle

hwnd = int(sys.argv[1])
api = Recording()
source = Win32Source(api)
counts, alive, methods = {}, 0, set()
for n in range(1, 1001):
    api.made.clear()
    methods.add(source.capture(hwnd).method)
    alive += sum(1 for handle in api.made if gdi32.GetObjectType(handle) != 0)
    if n in (10, 1000):
        counts[n] = api.gdi_object_count()
print(json.dumps({"counts": counts, "alive": alive, "methods": sorted(methods)}))
"""


@pytest.mark.slow
def test_gdi_objects_are_released_over_a_thousand_captures(windows: Windows) -> None:
    chart = windows.chart("GDI 5.00 - Robinhood", x=10, y=10, interval_ms=100)
    seen = windows.run_json(GDI, str(chart.hwnd), timeout=240)
    assert seen["methods"] == ["bitblt"], seen
    assert seen["alive"] == 0, seen  # no DC or bitmap outlived its capture
    assert seen["counts"]["10"] == seen["counts"]["1000"], seen


# A chart window of the capturing process itself: there Wine's PrintWindow works (its
# WM_PRINT reaches the window in the caller's thread, which answers WM_PRINTCLIENT).
IN_PROCESS = """
import json
from trade_analysis.analysis import AnalysisSettings, analyze
from trade_analysis.capture.sources.win32 import Win32Source
from tests.windows.chart_win32 import ChartWindow, parse_args, user32

chart = ChartWindow(parse_args(["--title=SELF 42.00 - Robinhood", "--trend=down"]))
user32.ShowWindow(chart.hwnd, 1)
with Win32Source() as source:
    frame = source.capture(chart.hwnd)
observation = analyze(frame.pixels, frame.title, AnalysisSettings())
print(json.dumps({"method": frame.method, "trend": observation.trend.value,
                  "ticker": observation.ticker}))
"""


def test_print_window_of_a_window_that_answers_wm_printclient(windows: Windows) -> None:
    seen = windows.run_json(IN_PROCESS)
    assert seen == {"method": "printwindow", "trend": "down", "ticker": "SELF"}


# A window none of this project draws: Wine's own Notepad (its edit control, menu, frame).
LIST_AND_CAPTURE = """
import json, sys
from trade_analysis.capture.sources.win32 import Win32Source

with Win32Source() as source:
    found = [w for w in source.list_windows() if w.process == sys.argv[1]]
    seen = []
    for window in found:
        frame = source.capture(window.hwnd)
        distinct = len({tuple(p) for p in frame.pixels.reshape(-1, 3)[::7].tolist()})
        seen.append({"title": window.title, "method": frame.method, "colours": distinct,
                     "same_size": [frame.width, frame.height] == [window.width, window.height]})
    print(json.dumps(seen))
"""


def test_a_window_of_another_program_is_listed_and_captured(windows: Windows) -> None:
    notepad = windows.start_program("notepad", [windows.rig.command()[0], "notepad.exe"])

    def listed() -> list[dict[str, object]]:
        assert notepad.process.poll() is None, notepad.output()
        found: list[dict[str, object]] = windows.run_json(LIST_AND_CAPTURE, "notepad.exe")
        return found

    (seen,) = poll(listed, bool, 60, "Notepad's window in the listing", 0.5)
    assert "Notepad" in str(seen["title"]), seen
    assert seen["method"] == "bitblt" and seen["same_size"], seen
    assert int(str(seen["colours"])) >= 3, seen  # drawn: frame, menu, text area
