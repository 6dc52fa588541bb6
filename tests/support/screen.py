"""Pixel helpers for tests: what the screen and captures show, colour counts in BGR frames."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tests.support.polling import poll
from trade_analysis.capture.frame import Frame
from trade_analysis.capture.sources.base import WindowSource

Pixels = npt.NDArray[np.uint8]


def hex_to_bgr(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


def colour_mask(pixels: Pixels, colour: str, tolerance: int = 40) -> npt.NDArray[np.bool_]:
    """Pixels within ``tolerance`` (per channel) of ``colour`` (``#rrggbb``)."""
    target = np.array(hex_to_bgr(colour), dtype=np.int16)
    mask: npt.NDArray[np.bool_] = np.all(
        np.abs(pixels.astype(np.int16) - target) <= tolerance, axis=2
    )
    return mask


def colour_count(pixels: Pixels, colour: str, tolerance: int = 40) -> int:
    return int(colour_mask(pixels, colour, tolerance).sum())


def screen_grab(display: str, x: int, y: int, width: int, height: int) -> Pixels:
    """What the screen shows in that rectangle (must be on-screen), as BGR."""
    import mss

    with mss.MSS(display=display) as grabber:
        shot = grabber.grab({"left": x, "top": y, "width": width, "height": height})
    return np.frombuffer(shot.bgra, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()


def wait_for_screen(
    display: str,
    x: int,
    y: int,
    width: int,
    height: int,
    predicate: Callable[[Pixels], bool],
    timeout: float = 10.0,
    what: str = "the screen to show it",
) -> Pixels:
    """Poll the screen rectangle until ``predicate(pixels)`` is true; returns those pixels."""
    return poll(
        lambda: screen_grab(display, x, y, width, height), predicate, timeout, what, interval=0.02
    )


def wait_drawn(
    display: str, x: int, y: int, width: int, height: int, line_colour: str, timeout: float = 10.0
) -> Pixels:
    """Wait until an on-screen chart window shows its line, and return the stable image."""
    previous: list[Pixels] = []

    def drawn_and_stable(pixels: Pixels) -> bool:
        stable = bool(previous) and np.array_equal(previous[0], pixels)
        previous[:] = [pixels]
        return stable and colour_count(pixels, line_colour) > 300

    return wait_for_screen(
        display, x, y, width, height, drawn_and_stable, timeout, f"a drawn {line_colour} chart"
    )


def wait_captured(
    source: WindowSource,
    hwnd: int,
    predicate: Callable[[Frame], bool],
    timeout: float = 20.0,
    what: str = "the capture to show it",
) -> Frame:
    """Capture ``hwnd`` until ``predicate(frame)`` is true; returns that frame.

    Parts of a window the screen did not show (covered, off-screen, just mapped) are
    only in its captures once the application has repainted them, which a starved
    application on a loaded machine may do after the capture has stopped waiting.
    """
    return poll(lambda: source.capture(hwnd), predicate, timeout, what, interval=0.02)
