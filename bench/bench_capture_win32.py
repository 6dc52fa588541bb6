"""Cost of one Win32 window capture: Win32Source.capture() vs bare GDI loops, on Windows
CPython under Wine (the rig of tests/windows/rig.py, built on first use).

Starts its own Xvfb, a persistent wineserver and ``--windows`` Win32 chart windows
(tests/windows/chart_win32.py, 640x400, animated), then times on python.exe, in one run:

- ``source``: ``Win32Source.capture`` (listing checks, PrintWindow full and plain, which
  under Wine give black for another process's window, then BitBlt; DIB read each time);
- ``bare bitblt``: GetWindowDC, a memory DC and bitmap, BitBlt, GetDIBits, release;
- ``bare print+print+bitblt``: the same sequence the source runs under Wine, without it.

    .venv/bin/python bench/bench_capture_win32.py [--calls 40] [--rounds 8] [--windows 3]

Wine's figures are a proxy for Windows': its GDI runs on X11 in-process, where Windows'
PrintWindow asks the window's own process to paint (and DWM composes). The ratios against
the bare loops measured in the same run are what carries over, not the milliseconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.xvfb import running_xvfb  # noqa: E402
from tests.windows.rig import HERE, Rig, build, default_root, windows_path  # noqa: E402

TIMING = r"""
import ctypes, json, sys, time
from trade_analysis.capture.sources.win32 import (
    PW_PLAIN, PW_RENDERFULLCONTENT, Win32Source)
from trade_analysis.capture.sources.win32_ctypes import (
    BITMAPINFO, BITMAPINFOHEADER, SRCCOPY, CtypesWin32Api)

calls, rounds, hwnds = int(sys.argv[1]), int(sys.argv[2]), [int(h) for h in sys.argv[3:]]
api = CtypesWin32Api()
user32, gdi32 = api._user32, api._gdi32
source = Win32Source(api)

def bare(hwnd, prints):
    width, height = 0, 0
    left, top, right, bottom = api.GetWindowRect(hwnd)
    width, height = right - left, bottom - top
    window_dc = user32.GetWindowDC(hwnd)
    memory_dc = gdi32.CreateCompatibleDC(window_dc)
    bitmap = gdi32.CreateCompatibleBitmap(window_dc, width, height)
    info = BITMAPINFO()
    info.bmiHeader.biSize = ctypes.sizeof(BITMAPINFOHEADER)
    info.bmiHeader.biWidth, info.bmiHeader.biHeight = width, -height
    info.bmiHeader.biPlanes, info.bmiHeader.biBitCount = 1, 32
    buffer = ctypes.create_string_buffer(width * height * 4)
    for flags in prints:
        previous = gdi32.SelectObject(memory_dc, bitmap)
        user32.PrintWindow(hwnd, memory_dc, flags)
        gdi32.SelectObject(memory_dc, previous)
        gdi32.GetDIBits(memory_dc, bitmap, 0, height, buffer, ctypes.byref(info), 0)
    previous = gdi32.SelectObject(memory_dc, bitmap)
    gdi32.BitBlt(memory_dc, 0, 0, width, height, window_dc, 0, 0, SRCCOPY)
    gdi32.SelectObject(memory_dc, previous)
    lines = gdi32.GetDIBits(memory_dc, bitmap, 0, height, buffer, ctypes.byref(info), 0)
    gdi32.DeleteObject(bitmap)
    gdi32.DeleteDC(memory_dc)
    user32.ReleaseDC(hwnd, window_dc)
    assert lines == height

ways = {
    "source": lambda hwnd: source.capture(hwnd),
    "bare bitblt": lambda hwnd: bare(hwnd, ()),
    "bare print+print+bitblt": lambda hwnd: bare(hwnd, (PW_RENDERFULLCONTENT, PW_PLAIN)),
}
methods = {source.capture(h).method for h in hwnds}
results = {}
# Interleaved rounds, the best of each way kept: a load change hits every way alike.
for _round in range(rounds):
    for name, grab in ways.items():
        started = time.perf_counter()
        for _ in range(calls):
            for hwnd in hwnds:
                grab(hwnd)
        per = (time.perf_counter() - started) / (calls * len(hwnds)) * 1000
        results[name] = min(per, results.get(name, per))
print(json.dumps({"per_capture_ms": results, "methods": sorted(methods)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=40, help="captures per window, way, round")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds; best kept")
    options = parser.parse_args()
    rig = build(Rig(default_root()))
    with (
        running_xvfb() as server,
        rig.session(server.display) as env,
        tempfile.TemporaryDirectory(prefix="ta-bench-") as tmp,
    ):
        charts: list[subprocess.Popen[str]] = []
        try:
            hwnds = []
            for n in range(options.windows):
                chart = subprocess.Popen(
                    rig.command(windows_path(HERE / "chart_win32.py"),
                                f"--title=B{n} 100.00 - Robinhood", f"--x={20 + 300 * n}",
                                "--y=20", "--interval-ms=500"),
                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                charts.append(chart)
                assert chart.stdout is not None
                hwnds.append(chart.stdout.readline().split()[1])  # READY <hwnd> <pid>
            script = Path(tmp) / "timing.py"
            script.write_text(TIMING)
            timed = subprocess.run(
                rig.command(windows_path(script), str(options.calls), str(options.rounds), *hwnds),
                env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True,
            )  # fmt: skip
        finally:
            for chart in charts:
                chart.terminate()
                chart.wait(15)
    seen = json.loads(timed.stdout.strip().splitlines()[-1])
    per = seen["per_capture_ms"]
    print(
        f"Win32 capture under Wine, {options.windows} windows of 640x400, method {seen['methods']}"
    )
    print(f"{'way':<26}{'ms/capture':>12}{'vs bare bitblt':>16}")
    for name, ms in per.items():
        print(f"{name:<26}{ms:>12.2f}{ms / per['bare bitblt']:>15.2f}x")
    overhead = per["source"] / per["bare print+print+bitblt"]
    print(f"source vs the same GDI sequence done bare: {overhead:.2f}x")
    print("Wine's figures are a proxy for Windows': compare the ratios, not the milliseconds.")


if __name__ == "__main__":
    main()
