"""X11Source on an Xvfb managed by openbox: clients reparented into decorated frames."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from tests.support.screen import colour_count, wait_captured, wait_drawn, wait_for_screen
from tests.support.windows import WindowLauncher
from tests.support.xvfb import require_program, wait_until
from Xlib import Xatom
from Xlib.display import Display

from trade_analysis.capture.frame import Frame
from trade_analysis.capture.sources import open_source, x11
from trade_analysis.capture.sources.x11 import X11Source
from trade_analysis.capture.worker import CaptureWorker, WorkerConfig

pytestmark = pytest.mark.x11

RED = "#ff2a00"
GREEN = "#00c805"


@pytest.fixture
def wm_windows(wm_display: str) -> Iterator[WindowLauncher]:
    launcher = WindowLauncher(wm_display)
    try:
        yield launcher
    finally:
        launcher.close()


def xwininfo_geometry(display: str, hwnd: int) -> tuple[int, int, int, int]:
    """The window's absolute position and size as x11-utils' xwininfo reports it."""
    xwininfo = require_program("xwininfo", "x11-utils")
    out = subprocess.run(
        [xwininfo, "-display", display, "-id", hex(hwnd)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def field(name: str) -> int:
        match = re.search(rf"{name}:\s+(-?\d+)", out)
        assert match, out
        return int(match.group(1))

    return (
        field("Absolute upper-left X"),
        field("Absolute upper-left Y"),
        field("Width"),
        field("Height"),
    )


def parent_is_root(display: str, hwnd: int) -> bool:
    conn = Display(display)
    try:
        tree = conn.create_resource_object("window", hwnd).query_tree()
        return int(tree.parent.id) == int(tree.root.id)
    finally:
        conn.close()


def active_window(display: str) -> int | None:
    conn = Display(display)
    try:
        root = conn.screen().root
        prop = root.get_full_property(conn.intern_atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW)
        return int(prop.value[0]) if prop is not None and len(prop.value) else None
    finally:
        conn.close()


def test_lists_clients_inside_frames_and_captures_them_covered(
    wm_windows: WindowLauncher,
) -> None:
    display = wm_windows.display
    a = wm_windows.chart("WMA 100.00 - Robinhood", x=40, y=40, width=500, height=320)
    b = wm_windows.chart(
        "WMB 100.00 - Other", x=40, y=40, width=500, height=320, color=RED, theme="dark"
    )
    with closing(open_source(display)) as source:
        listed = {w.title: w for w in source.list_windows()}
        assert {"WMA 100.00 - Robinhood", "WMB 100.00 - Other"} <= set(listed)
        for launched in (a, b):
            info = next(w for w in listed.values() if w.hwnd == launched.hwnd)
            # The client, not openbox's frame, is what is listed ...
            assert not parent_is_root(display, info.hwnd)
            # ... with the client's own root position and size.
            assert (info.x, info.y, info.width, info.height) == xwininfo_geometry(
                display, info.hwnd
            )
            assert (info.width, info.height) == (500, 320)
        # B was opened last at the same place: it covers A entirely on screen.
        info_a = listed["WMA 100.00 - Robinhood"]
        wait_drawn(display, info_a.x, info_a.y, 500, 320, RED)
        # A's pixmap holds A's own line and nothing of B once Tk has repainted it.
        frame = wait_captured(
            source,
            a.hwnd,
            lambda f: colour_count(f.pixels, GREEN) > 300 and colour_count(f.pixels, RED) == 0,
            what="covered A drawn in its own pixmap",
        )
        assert frame.method == "composite"
        assert frame.pixels.shape == (320, 500, 3)

        source.bring_to_front(a.hwnd)  # through _NET_ACTIVE_WINDOW
        wait_until(lambda: active_window(display) == a.hwnd, 10, "openbox to activate A")
        wait_for_screen(
            display,
            info_a.x,
            info_a.y,
            500,
            320,
            lambda shown: np.array_equal(shown, source.capture(a.hwnd).pixels),
            what="A on top after bring_to_front",
        )


def test_tree_walk_finds_the_same_clients_as_the_ewmh_list(wm_windows: WindowLauncher) -> None:
    """Without _NET_CLIENT_LIST (a non-EWMH manager) clients are found inside the frames."""
    chart = wm_windows.chart("WALK 1.00 - Frames", x=100, y=100, width=300, height=200)
    with closing(open_source(wm_windows.display)) as source:
        via_ewmh = {w.hwnd: w for w in source.list_windows()}
        source._ewmh_clients = lambda: None  # type: ignore[attr-defined]  # force the walk
        via_walk = {w.hwnd: w for w in source.list_windows()}
    assert chart.hwnd in via_walk
    assert via_walk == via_ewmh


def test_a_worker_bringing_its_window_forward_gives_the_focus_back(
    wm_windows: WindowLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original raised the chart for the grab and then handed the focus back."""
    # bring_to_front waits only briefly for openbox to activate the window; a loaded
    # machine's openbox can take longer, and this test is about the order, not the wait.
    monkeypatch.setattr(x11, "ACTIVATION_WAIT", 10.0)
    captured = wm_windows.chart("FOCA 10.00 - App", x=50, y=50, width=400, height=300)
    trader = wm_windows.chart("Notes - Editor", x=500, y=50, width=400, height=300)
    display = wm_windows.display
    with closing(open_source(display)) as source:
        source.bring_to_front(trader.hwnd)
    wait_until(lambda: active_window(display) == trader.hwnd, 10, "the trader's window active")

    active_during_grab: list[int | None] = []

    class WatchedSource(X11Source):
        def capture(self, hwnd: int) -> Frame:
            active_during_grab.append(active_window(display))
            return super().capture(hwnd)

    config = WorkerConfig(
        hwnd=captured.hwnd, interval=0.5, bring_to_foreground=True, output_folder=tmp_path
    )
    worker = CaptureWorker(config, lambda: WatchedSource(display), lambda _w, _r: None)
    worker.start()
    try:
        wait_until(lambda: worker.successful_captures >= 2, 20, "two grabs")
    finally:
        worker.stop()
    assert active_during_grab[:2] == [captured.hwnd, captured.hwnd]
    wait_until(lambda: active_window(display) == trader.hwnd, 10, "the focus given back")
