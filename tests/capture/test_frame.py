from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from trade_analysis.capture.frame import Frame, WindowInfo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_frame_accepts_a_bgr_view_of_bgrx() -> None:
    bgrx = np.zeros((4, 5, 4), dtype=np.uint8)
    frame = Frame(hwnd=1, title="T", pixels=bgrx[:, :, :3], captured_at=NOW, method="composite")
    assert (frame.width, frame.height) == (5, 4)


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((4, 5, 4), dtype=np.uint8),
        np.zeros((4, 5), dtype=np.uint8),
        np.zeros((4, 5, 3), dtype=np.float32),
    ],
)
def test_frame_refuses_pixels_that_are_not_hxwx3_uint8(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Frame(hwnd=1, title="T", pixels=pixels, captured_at=NOW, method="screen")


def test_frame_refuses_naive_time_and_unknown_method() -> None:
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="timezone-aware"):
        Frame(hwnd=1, title="T", pixels=pixels, captured_at=datetime(2026, 1, 1), method="screen")
    with pytest.raises(ValueError, match="method"):
        Frame(hwnd=1, title="T", pixels=pixels, captured_at=NOW, method="magic")


def test_window_info_is_a_frozen_value() -> None:
    info = WindowInfo(hwnd=7, title="AAPL", process=None, x=-5, y=0, width=10, height=20)
    assert info == WindowInfo(7, "AAPL", None, -5, 0, 10, 20)
    with pytest.raises(AttributeError):
        info.title = "other"  # type: ignore[misc]
