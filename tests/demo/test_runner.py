"""The demo's window layout fits the screen it runs on, title bars included."""

from __future__ import annotations

import itertools

import pytest

from trade_analysis.demo.runner import DEMO_WINDOWS, MIN_SIZE, TITLE_BAR, Placement, layout


def frame(place: Placement) -> tuple[int, int, int, int]:
    """The window with its title bar: left, top, right, bottom."""
    return place.x, place.y - TITLE_BAR, place.x + place.width, place.y + place.height


@pytest.mark.parametrize("screen", [(1280, 800), (1024, 768), (1920, 1080), (2560, 1440)])
def test_the_demo_windows_and_their_titles_fit_the_screen_apart(screen: tuple[int, int]) -> None:
    width, height = screen
    places = layout(width, height, len(DEMO_WINDOWS))
    assert len(places) == len(DEMO_WINDOWS)
    for place in places:
        left, top, right, bottom = frame(place)
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, (screen, place)
        assert (place.width, place.height) >= MIN_SIZE
    for one, other in itertools.combinations(map(frame, places), 2):
        apart = one[2] <= other[0] or other[2] <= one[0] or one[3] <= other[1] or other[3] <= one[1]
        assert apart, (screen, one, other)


def test_on_a_large_screen_the_charts_keep_their_full_size() -> None:
    assert {(p.width, p.height) for p in layout(2560, 1440, 3)} == {(640, 400)}


def test_on_the_virtual_screen_the_charts_shrink_to_fit() -> None:
    places = layout(1280, 800, 3)
    assert all(p.width < 640 and p.height < 400 for p in places)
