"""X11Source against real Tk chart windows on a bare Xvfb (no window manager)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from contextlib import closing

import numpy as np
import psutil
import pytest
from tests.support.screen import (
    colour_count,
    screen_grab,
    wait_captured,
    wait_drawn,
    wait_for_screen,
)
from tests.support.windows import LaunchedWindow, WindowLauncher
from tests.support.xvfb import SCREEN_WIDTH, wait_until
from Xlib import X, Xatom
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import composite, res

from trade_analysis.capture.frame import Frame
from trade_analysis.capture.sources import open_source
from trade_analysis.capture.sources.base import WindowGone, WindowSource
from trade_analysis.capture.sources.x11 import X11Source
from trade_analysis.capture.sources.x11_shm import SharedImage

pytestmark = pytest.mark.x11

GREEN = "#00c805"
RED = "#ff2a00"
BLUE = "#1f6fff"
WHITE = "#ffffff"
BLACK = "#000000"


def info_of(source: WindowSource, hwnd: int) -> tuple[str, str | None, int, int, int, int]:
    [info] = [w for w in source.list_windows() if w.hwnd == hwnd]
    return info.title, info.process, info.x, info.y, info.width, info.height


def test_lists_windows_with_exact_titles_process_and_geometry(
    chart_windows: WindowLauncher,
) -> None:
    a = chart_windows.chart("AAPL 175.23 - Robinhood", x=10, y=20, width=640, height=400)
    b = chart_windows.chart(
        "BTC €42,000.50 — Feed ✓", x=700, y=300, width=320, height=240, theme="dark"
    )
    with closing(open_source(chart_windows.display)) as source:
        listed = {w.hwnd: w for w in source.list_windows()}
        for launched, geometry in ((a, (10, 20, 640, 400)), (b, (700, 300, 320, 240))):
            info = listed[launched.hwnd]
            assert (info.x, info.y, info.width, info.height) == geometry
            # Tk sets no _NET_WM_PID: the pid comes from the X-Resource extension.
            assert info.process == psutil.Process(launched.process.pid).name()
        assert listed[a.hwnd].title == "AAPL 175.23 - Robinhood"
        assert listed[b.hwnd].title == "BTC €42,000.50 — Feed ✓"  # UTF-8 _NET_WM_NAME
        # Only titled top-level windows: Tk's untitled helper windows are not listed.
        assert all(w.title for w in listed.values())


def test_net_wm_pid_names_the_process_when_the_window_has_it(
    chart_windows: WindowLauncher,
) -> None:
    chart = chart_windows.chart("PID 1.00 - Test", x=0, y=0, width=200, height=150)
    other = subprocess.Popen(["sleep", "60"])
    try:
        conn = Display(chart_windows.display)
        window = conn.create_resource_object("window", chart.hwnd)
        window.change_property(conn.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [other.pid])
        conn.sync()
        conn.close()
        with closing(open_source(chart_windows.display)) as source:
            assert info_of(source, chart.hwnd)[1] == "sleep"
    finally:
        other.kill()
        other.wait()


def test_covered_window_captures_its_own_pixels(chart_windows: WindowLauncher) -> None:
    a = chart_windows.chart("COVA 100.00 - Under", x=10, y=10, color=GREEN, grid=True)
    reference = wait_drawn(chart_windows.display, 10, 10, 640, 400, GREEN)
    b = chart_windows.chart("COVB 100.00 - Over", x=200, y=150, color=RED, theme="dark")
    wait_drawn(chart_windows.display, 200, 150, 640, 400, RED)
    # The screen now shows B over A's lower right part.
    assert not np.array_equal(screen_grab(chart_windows.display, 10, 10, 640, 400), reference)

    with closing(open_source(chart_windows.display)) as source:
        # The first capture redirects A; its covered part is in the pixmap once Tk repaints.
        frame = wait_captured(
            source, a.hwnd, lambda f: np.array_equal(f.pixels, reference), what="A repainted"
        )
        again = source.capture(a.hwnd)
    assert frame.method == "composite"
    assert frame.hwnd == a.hwnd and frame.title == "COVA 100.00 - Under"
    assert frame.pixels.shape == (400, 640, 3) and frame.pixels.dtype == np.uint8
    assert colour_count(frame.pixels, WHITE, 2) > 0.8 * 640 * 400  # A's background
    assert colour_count(frame.pixels, GREEN) > 500  # A's line
    assert colour_count(frame.pixels, RED) == 0 and colour_count(frame.pixels, BLACK, 2) == 0
    assert np.array_equal(frame.pixels, reference)
    assert np.array_equal(again.pixels, reference)
    assert b.process.poll() is None


def without_background(display: str, hwnd: int) -> None:
    """Give the window and its subwindows background None, as many toolkits do: the
    server then paints nothing where they are exposed until the application draws."""
    conn = Display(display)
    pending = [conn.create_resource_object("window", hwnd)]
    while pending:
        window = pending.pop()
        window.change_attributes(background_pixmap=X.NONE)
        pending += window.query_tree().children
    conn.sync()
    conn.close()


@pytest.mark.parametrize("background", [True, False], ids=["background", "background-none"])
def test_first_capture_waits_for_a_slow_client_to_repaint(
    chart_windows: WindowLauncher, monkeypatch: pytest.MonkeyPatch, background: bool
) -> None:
    """A client that cannot run when its window is redirected (starved of CPU, here
    stopped) repaints late: the first capture shows its drawing, not what the server
    put in the covered part (its background, or the covering window's pixels)."""
    a = chart_windows.chart("SLOWA 100.00 - Under", x=10, y=10, color=GREEN, grid=True)
    reference = wait_drawn(chart_windows.display, 10, 10, 640, 400, GREEN)
    b = chart_windows.chart("SLOWB 100.00 - Over", x=200, y=150, color=RED, theme="dark")
    wait_drawn(chart_windows.display, 200, 150, 640, 400, RED)
    if not background:
        without_background(chart_windows.display, a.hwnd)
    os.kill(a.process.pid, signal.SIGSTOP)
    try:
        # A bound far beyond A's repaint on a loaded machine: what is tested is the wait.
        with closing(X11Source(chart_windows.display, settle_timeout=30)) as source:
            redirected = threading.Event()
            redirect = source._redirect

            def redirect_and_tell(window: object) -> bool:
                done = redirect(window)
                redirected.set()
                return done

            monkeypatch.setattr(source, "_redirect", redirect_and_tell)
            frames: list[Frame] = []
            errors: list[BaseException] = []

            def first_capture() -> None:
                try:
                    frames.append(source.capture(a.hwnd))
                except BaseException as exc:  # reported below, not lost in the thread
                    errors.append(exc)

            capturing = threading.Thread(target=first_capture)
            capturing.start()
            try:
                assert redirected.wait(timeout=20)
                # Longer than the pixmap takes to look settled while A cannot draw.
                time.sleep(0.4)
            finally:
                os.kill(a.process.pid, signal.SIGCONT)
            capturing.join(timeout=30)
    finally:
        os.kill(a.process.pid, signal.SIGCONT)
    assert errors == [] and len(frames) == 1
    [frame] = frames
    assert frame.method == "composite"
    assert colour_count(frame.pixels, RED) == 0 and colour_count(frame.pixels, BLACK, 2) == 0
    assert colour_count(frame.pixels, GREEN) > 500  # A's line
    assert np.array_equal(frame.pixels, reference)
    assert b.process.poll() is None


def test_first_capture_of_a_hung_client_takes_its_pixmap_as_it_is(
    chart_windows: WindowLauncher,
) -> None:
    a = chart_windows.chart("HUNG 100.00 - Stopped", x=10, y=10, width=300, height=200)
    wait_drawn(chart_windows.display, 10, 10, 300, 200, GREEN)
    os.kill(a.process.pid, signal.SIGSTOP)
    try:
        with closing(X11Source(chart_windows.display, settle_timeout=0.3)) as source:
            frame = source.capture(a.hwnd)
            again = source.capture(a.hwnd)
    finally:
        os.kill(a.process.pid, signal.SIGCONT)
    assert frame.method == again.method == "composite"
    assert colour_count(frame.pixels, GREEN) > 300  # what the screen showed of it
    assert np.array_equal(again.pixels, frame.pixels)


@pytest.mark.parametrize("x", [-250, SCREEN_WIDTH - 300], ids=["left", "right"])
def test_partly_off_screen_window_captures_whole(chart_windows: WindowLauncher, x: int) -> None:
    """The same chart drawn on-screen (a twin) is the reference for the off-screen one."""
    twin = chart_windows.chart("TWIN 100.00 - On", x=300, y=300, width=480, height=300)
    reference = wait_drawn(chart_windows.display, 300, 300, 480, 300, GREEN)
    off = chart_windows.chart("OFF 100.00 - Edge", x=x, y=20, width=480, height=300)
    with closing(open_source(chart_windows.display)) as source:
        assert info_of(source, off.hwnd)[2] == x
        # The part off the screen is in the pixmap once Tk has painted it there.
        frame = wait_captured(
            source,
            off.hwnd,
            lambda f: np.array_equal(f.pixels, reference),
            what="the off-screen window drawn like its twin",
        )
    assert frame.method == "composite"
    hidden = slice(0, 250) if x < 0 else slice(300, 480)
    assert colour_count(frame.pixels[:, hidden], GREEN) > 50  # the line where no screen is
    assert np.array_equal(frame.pixels, reference)
    assert twin.process.poll() is None


def test_window_killed_mid_run_raises_window_gone(chart_windows: WindowLauncher) -> None:
    chart = chart_windows.chart("GONE 9.99 - Soon", x=0, y=0, width=300, height=200)
    with closing(open_source(chart_windows.display)) as source:
        assert source.capture(chart.hwnd).method == "composite"
        chart_windows.kill(chart)
        errors: list[WindowGone] = []

        def capture_fails() -> bool:
            try:
                source.capture(chart.hwnd)
            except WindowGone as exc:
                errors.append(exc)
                return True
            return False

        wait_until(capture_fails, timeout=10, what="capture of a killed window to fail")
        assert errors[0].hwnd == chart.hwnd
        assert chart.hwnd not in {w.hwnd for w in source.list_windows()}
        with pytest.raises(WindowGone):
            source.bring_to_front(chart.hwnd)


def test_captures_free_their_pixmaps_and_damage_objects(chart_windows: WindowLauncher) -> None:
    chart = chart_windows.chart("LEAK 1.00 - Check", x=0, y=0, width=300, height=200)
    source = X11Source(chart_windows.display)
    try:
        for _ in range(5):
            source.capture(chart.hwnd)
        own_client = source._display.display.info.resource_id_base
        conn = Display(chart_windows.display)
        pixmap_atom = conn.intern_atom("PIXMAP")
        damage_atom = conn.intern_atom("DamageExt")  # watched on a first capture only
        counts = {
            r.resource_type: r.count for r in conn.res_query_client_resources(own_client).types
        }
        conn.close()
        assert counts.get(pixmap_atom, 0) == 0
        assert counts.get(damage_atom, 0) == 0
        assert source._display.pending_events() == 0
    finally:
        source.close()
    source.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        source.capture(chart.hwnd)
    assert res.LocalClientPIDMask  # the extension this test relies on is present


def test_bring_to_front_raises_a_covered_window(chart_windows: WindowLauncher) -> None:
    a = chart_windows.chart("FRNA 100.00 - Back", x=20, y=20, width=400, height=300, color=BLUE)
    drawn = wait_drawn(chart_windows.display, 20, 20, 400, 300, BLUE)
    b = chart_windows.chart(
        "FRNB 100.00 - Front", x=60, y=60, width=400, height=300, color=RED, theme="dark"
    )
    wait_drawn(chart_windows.display, 60, 60, 400, 300, RED)
    with closing(open_source(chart_windows.display)) as source:
        own = wait_captured(
            source, a.hwnd, lambda f: np.array_equal(f.pixels, drawn), what="A's own pixels"
        ).pixels
        source.bring_to_front(a.hwnd)
        wait_for_screen(
            chart_windows.display,
            20,
            20,
            400,
            300,
            lambda shown: np.array_equal(shown, own),
            what="window A on top after bring_to_front",
        )
    assert b.process.poll() is None


def test_one_source_per_thread_captures_correct_frames(chart_windows: WindowLauncher) -> None:
    windows: dict[str, LaunchedWindow] = {
        GREEN: chart_windows.chart("THRA 1.00 - One", x=0, y=0, width=400, height=300),
        RED: chart_windows.chart(
            "THRB 2.00 - Two", x=100, y=100, width=400, height=300, color=RED, theme="dark"
        ),
    }
    failures: list[str] = []
    start = threading.Barrier(2)
    drawn = threading.Barrier(2)

    def worker(colour: str, other: str) -> None:
        try:
            with closing(open_source(chart_windows.display)) as source:  # its own connection
                start.wait(timeout=10)
                # Until Tk has repainted the redirected window (RED covers part of GREEN).
                wait_captured(
                    source,
                    windows[colour].hwnd,
                    lambda f: (
                        colour_count(f.pixels, colour) >= 300 and colour_count(f.pixels, other) == 0
                    ),
                    what=f"the {colour} window drawn",
                )
                drawn.wait(timeout=30)
                for i in range(25):
                    frame = source.capture(windows[colour].hwnd)
                    if frame.method != "composite" or frame.hwnd != windows[colour].hwnd:
                        failures.append(f"{colour} #{i}: {frame.method} {frame.hwnd:#x}")
                    if colour_count(frame.pixels, colour) < 300:
                        failures.append(f"{colour} #{i}: own line missing")
                    if colour_count(frame.pixels, other) > 0:
                        failures.append(f"{colour} #{i}: pixels of the other window")
        except Exception as exc:  # reported below, not lost in the thread
            failures.append(f"{colour}: {exc!r}")

    threads = [
        threading.Thread(target=worker, args=(GREEN, RED)),
        threading.Thread(target=worker, args=(RED, GREEN)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


def test_without_composite_the_screen_is_grabbed(chart_windows: WindowLauncher) -> None:
    """The fallback: right where visible, other windows where covered, black off-screen."""
    a = chart_windows.chart("SCRA 100.00 - Under", x=-100, y=0, width=400, height=300)
    wait_drawn(chart_windows.display, 0, 0, 300, 300, GREEN)
    chart_windows.chart(
        "SCRB 100.00 - Over", x=200, y=150, width=400, height=300, color=RED, theme="dark"
    )
    wait_drawn(chart_windows.display, 200, 150, 400, 300, RED)
    with X11Source(chart_windows.display, use_composite=False) as source:
        frame = source.capture(a.hwnd)
    assert frame.method == "screen"
    assert frame.pixels.shape == (300, 400, 3)
    assert not frame.pixels[:, :100].any()  # off-screen part: nothing to grab
    # B's dark background shows where it covers A
    assert colour_count(frame.pixels[150:, 300:], BLACK, 2) > 0.5 * 150 * 100
    assert colour_count(frame.pixels[:150, 100:300], WHITE, 2) > 0.5 * 150 * 200


def test_unmapped_window_is_gone_until_brought_back(chart_windows: WindowLauncher) -> None:
    chart = chart_windows.chart("HIDE 1.00 - Min", x=0, y=0, width=300, height=200)
    conn = Display(chart_windows.display)
    conn.create_resource_object("window", chart.hwnd).unmap()
    conn.sync()
    conn.close()
    with closing(open_source(chart_windows.display)) as source:
        with pytest.raises(WindowGone, match="not viewable"):
            source.capture(chart.hwnd)
        assert chart.hwnd not in {w.hwnd for w in source.list_windows()}
        source.bring_to_front(chart.hwnd)  # no manager: mapped again and raised
        wait_until(
            lambda: chart.hwnd in {w.hwnd for w in source.list_windows()}, 10, "window mapped"
        )
        wait_captured(
            source,
            chart.hwnd,
            lambda f: colour_count(f.pixels, GREEN) > 300,
            what="the window mapped again drawn",
        )


def test_a_restarted_application_whose_window_has_the_old_id_is_captured_afresh(
    chart_windows: WindowLauncher,
) -> None:
    """The X server hands a gone client's ids to the next one: a restarted chart's window
    can have the old window's id. The source forgets a destroyed window, so the new one is
    redirected and captured, and closing the source leaves it alone."""
    first = chart_windows.chart("AGAIN 1.00 - First", x=0, y=0, width=300, height=200, color=GREEN)
    with closing(open_source(chart_windows.display)) as source:
        assert source.capture(first.hwnd).method == "composite"
        chart_windows.kill(first)
        wait_until(
            lambda: first.hwnd not in {w.hwnd for w in source.list_windows()},
            timeout=10,
            what="the killed window to leave the list",
        )
        with pytest.raises(WindowGone):
            source.capture(first.hwnd)
        second = chart_windows.chart(
            "AGAIN 2.00 - Second", x=0, y=0, width=300, height=200, color=RED
        )
        frame = wait_captured(
            source, second.hwnd, lambda f: colour_count(f.pixels, RED) > 300, what="the new chart"
        )
        assert frame.method == "composite" and frame.title == "AGAIN 2.00 - Second"


def test_an_x_error_misfiled_by_the_library_is_still_caught(
    chart_windows: WindowLauncher,
) -> None:
    """python-xlib files RandR's and DAMAGE's errors over BadRequest and BadValue; a
    source's connection reads them as what they are and stays usable."""
    chart = chart_windows.chart("ERR 1.00 - Check", x=0, y=0, width=300, height=200)
    with closing(X11Source(chart_windows.display)) as source:
        window = source._display.create_resource_object("window", chart.hwnd)
        caught = xerror.CatchError()
        # Unredirecting a window this client never redirected is a BadValue.
        window.composite_unredirect_window(composite.RedirectAutomatic, onerror=caught)
        source._display.sync()
        assert isinstance(caught.get_error(), xerror.BadValue)
        assert source.capture(chart.hwnd).title == "ERR 1.00 - Check"


def test_shared_memory_and_plain_get_image_read_the_same_pixels(
    chart_windows: WindowLauncher,
) -> None:
    """MIT-SHM (x11_shm) is only a faster way to read the pixmap: the same frame, and it is
    in use on a local display (its segment attached)."""
    window = chart_windows.chart("SHMA 100.00 - Chart", x=10, y=10, color=GREEN, grid=True)
    reference = wait_drawn(chart_windows.display, 10, 10, 640, 400, GREEN)
    with (
        closing(X11Source(chart_windows.display)) as shared,
        closing(X11Source(chart_windows.display, use_shm=False)) as plain,
    ):
        through_shm = wait_captured(
            shared, window.hwnd, lambda f: np.array_equal(f.pixels, reference), what="via SHM"
        )
        through_socket = wait_captured(
            plain, window.hwnd, lambda f: np.array_equal(f.pixels, reference), what="plain"
        )
        assert isinstance(shared._shm, SharedImage) and shared._shm.capacity >= 640 * 400 * 4
        assert plain._shm is False
    assert np.array_equal(through_shm.pixels, through_socket.pixels)
