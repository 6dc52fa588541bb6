"""Trend reading on charts with a known trend, from two renderers and many styles.

Run with `-s` to see the accuracy table per style and renderer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from tests.analysis.charts import (
    DARK_BACKGROUNDS,
    LIGHT_BACKGROUNDS,
    RENDERERS,
    STYLES,
    Style,
    make_scene,
    without_line,
)
from trade_analysis.analysis import trend
from trade_analysis.analysis.trend import read_trend
from trade_analysis.domain import Trend

SEEDS = range(12)
KINDS = (Trend.UP, Trend.DOWN, Trend.NONE)
MIN_STYLE_ACCURACY = 0.9
MIN_OVERALL_ACCURACY = 0.97

_results: dict[tuple[str, str], tuple[int, int]] = {}


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(repr(part).encode()) for part in parts])


@pytest.fixture(scope="module", autouse=True)
def accuracy_table() -> Iterator[None]:
    yield
    if not _results:
        return
    print("\ntrend accuracy (up/down/flat charts, random series)")
    print(f"{'style':14} {'renderer':9} {'right':>6} {'of':>4} {'accuracy':>9}")
    for (style, renderer), (right, total) in sorted(_results.items()):
        print(f"{style:14} {renderer:9} {right:6d} {total:4d} {right / total:9.1%}")
    right = sum(r for r, _ in _results.values())
    total = sum(t for _, t in _results.values())
    print(f"{'all':24} {right:6d} {total:4d} {right / total:9.1%}")


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("style", STYLES, ids=[s.name for s in STYLES])
def test_accuracy_per_style(style: Style, renderer: str) -> None:
    misses = []
    for seed in SEEDS:
        for expected in KINDS:
            scene = make_scene(_rng(style.name, renderer, seed, expected), style, expected)
            reading = read_trend(RENDERERS[renderer](scene))
            if reading.trend is not expected:
                misses.append((seed, expected.value, reading.trend.value, reading.reason))
    total = len(SEEDS) * len(KINDS)
    _results[(style.name, renderer)] = (total - len(misses), total)
    assert (total - len(misses)) / total >= MIN_STYLE_ACCURACY, misses


def test_overall_accuracy() -> None:
    if len(_results) < len(STYLES) * len(RENDERERS):
        pytest.skip("needs the per-style tests of this module")
    right = sum(r for r, _ in _results.values())
    total = sum(t for _, t in _results.values())
    assert right / total >= MIN_OVERALL_ACCURACY


# Brokers colour the line by the day's change: colour must not decide the trend.
@pytest.mark.parametrize(
    ("colour", "expected", "dark"),
    [
        ("green", Trend.DOWN, False),
        ("green", Trend.DOWN, True),
        ("red", Trend.UP, False),
        ("orange", Trend.UP, True),
        ("white", Trend.DOWN, True),
        ("blue", Trend.UP, False),
    ],
)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_colour_does_not_decide(colour: str, expected: Trend, dark: bool, renderer: str) -> None:
    style = Style("colour", dark=dark, grid=True, fill=True, header=True)
    right = 0
    for seed in range(10):
        rng = _rng("colour", colour, expected, dark, renderer, seed)
        scene = make_scene(rng, style, expected, colour=colour)
        right += read_trend(RENDERERS[renderer](scene)).trend is expected
    assert right >= 9


@pytest.mark.parametrize(
    "style",
    [
        Style("blank"),
        Style("blank_dark", dark=True),
        Style("grid_only", dark=None, grid=True),
        Style("text_only", dark=None, header=True, axis_text=True),
        Style("dotted_only", dark=None, dotted=True, jpeg=50),
        Style("all_but_line", dark=None, grid=True, dotted=True, header=True, axis_text=True),
    ],
    ids=lambda s: s.name,
)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_no_line_means_none(style: Style, renderer: str) -> None:
    for seed in range(4):
        scene = without_line(make_scene(_rng(style.name, renderer, seed), style, Trend.UP))
        reading = read_trend(RENDERERS[renderer](scene))
        assert reading.trend is Trend.NONE, reading
        assert reading.confidence <= 0.6


def _draw(
    points: list[tuple[int, int]], dark: bool = False, colour: tuple[int, int, int] = (5, 200, 0)
) -> np.ndarray:
    background = DARK_BACKGROUNDS[1] if dark else LIGHT_BACKGROUNDS[0]
    canvas = np.full((400, 540, 3), background, np.uint8)
    cv2.polylines(canvas, [np.array(points, np.int32)], False, colour, 2, cv2.LINE_AA)
    return canvas


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(10, 350), (530, 50)], Trend.UP),
        ([(10, 50), (530, 350)], Trend.DOWN),
        ([(10, 100), (300, 350), (530, 60)], Trend.UP),  # V: the last leg decides
        ([(10, 300), (300, 40), (530, 330)], Trend.DOWN),
        # A slow drift after a long rise: under half the average pace, so flat now.
        ([(10, 300), (400, 40), (530, 70)], Trend.NONE),
        ([(10, 300), (460, 40), (530, 45)], Trend.NONE),  # the rise stopped
        ([(10, 60), (470, 300), (530, 240)], Trend.UP),  # a fresh bounce still counts
        ([(10, 200), (530, 201)], Trend.NONE),
    ],
)
@pytest.mark.parametrize("dark", [False, True])
def test_clear_shapes(points: list[tuple[int, int]], expected: Trend, dark: bool) -> None:
    reading = read_trend(_draw(points, dark))
    assert reading.trend is expected, reading
    if expected is not Trend.NONE:
        assert reading.confidence >= 0.5
        assert str(expected) in reading.reason


def test_flipping_the_image_flips_the_trend() -> None:
    for seed in range(6):
        scene = make_scene(_rng("flip", seed), STYLES[0], Trend.UP)
        pixels = RENDERERS["opencv"](scene)
        assert read_trend(pixels).trend is Trend.UP
        assert read_trend(pixels[::-1]).trend is Trend.DOWN  # upside down: a view


def test_accepts_views_grey_and_bgra() -> None:
    pixels = _draw([(10, 350), (530, 50)])
    wide = np.zeros((400, 700, 3), np.uint8)
    wide[:, 100:640] = pixels
    assert read_trend(wide[:, 100:640]).trend is Trend.UP
    assert read_trend(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)).trend is Trend.UP
    assert read_trend(cv2.cvtColor(pixels, cv2.COLOR_BGR2BGRA)).trend is Trend.UP


def test_large_frames_are_read() -> None:
    pixels = cv2.resize(_draw([(10, 60), (530, 340)]), (1920, 1080))
    assert read_trend(pixels).trend is Trend.DOWN


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 2), np.uint8), np.zeros(5, np.uint8)],
)
def test_rejects_what_is_not_an_image(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="pixels"):
        read_trend(pixels)


def test_reason_says_when_nothing_is_there() -> None:
    reading = read_trend(np.full((300, 400, 3), 255, np.uint8))
    assert reading == read_trend(np.full((300, 400, 3), 255, np.uint8))
    assert reading.trend is Trend.NONE
    assert "no chart line found" in reading.reason


def _reference_pooled_contrast(
    pixels: np.ndarray, background: np.ndarray, factor: int
) -> np.ndarray:
    """Plain numpy: the largest channel difference to the background in each block."""
    height, width = pixels.shape[0] // factor, pixels.shape[1] // factor
    diff = np.abs(pixels[: height * factor, : width * factor, :3].astype(np.int16) - background)
    blocks = diff.reshape(height, factor, width, factor, 3)
    return blocks.max(axis=(1, 3, 4)).astype(np.uint8)


@pytest.mark.parametrize("factor", [1, 2, 3, 5])
@pytest.mark.parametrize("channels", [3, 4])
def test_pooled_contrast_is_the_block_maximum(factor: int, channels: int) -> None:
    rng = np.random.default_rng(factor * 10 + channels)
    # Tall enough for several strips of rows; a size that is no multiple of the factor.
    pixels = rng.integers(0, 256, (factor * 173 + factor - 1, factor * 61, channels), np.uint8)
    background = np.array([30.0, 128.0, 250.0])
    image = pixels[: pixels.shape[0] // factor * factor]
    pooled = trend._pooled_contrast(image, background, factor)
    assert np.array_equal(pooled, _reference_pooled_contrast(image, background, factor))


def test_bgr_view_of_a_bgrx_capture_reads_like_the_bgr_frame() -> None:
    """Window sources hand out BGR views of BGRX memory: read in place, same answers."""
    for seed in range(4):
        expected = (Trend.UP, Trend.DOWN)[seed % 2]
        scene = make_scene(_rng("bgrx", seed), STYLES[-1], expected)
        bgr = RENDERERS["opencv"](scene)
        bgrx = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
        bgrx[:, :, 3] = 255 * (seed % 2)  # whatever the padding byte holds
        view = bgrx[:, 3:-5, :3]
        prepared, _ = trend._prepare(view)
        assert prepared.shape[2] == 4 and np.shares_memory(prepared, bgrx)
        assert read_trend(view) == read_trend(np.ascontiguousarray(bgr[:, 3:-5]))


def test_padding_byte_outside_the_buffer_is_never_read() -> None:
    def bgr_view(owner: np.ndarray) -> np.ndarray:
        """A BGR view with a 4-byte pixel stride onto `owner`, which it references."""
        return np.ndarray((40, 30, 3), np.uint8, buffer=owner, strides=(30 * 4, 4, 1))

    short = bgr_view(np.zeros(40 * 30 * 4 - 1, np.uint8))  # the last padding byte is missing
    assert trend._with_padding_byte(short) is short
    whole = bgr_view(np.zeros(40 * 30 * 4, np.uint8))
    assert trend._with_padding_byte(whole).shape == (40, 30, 4)
    assert trend.opencv_view(short) is short
    assert trend.opencv_view(whole).shape == (40, 30, 4)
    contiguous = np.zeros((40, 30, 3), np.uint8)
    assert trend.opencv_view(contiguous) is contiguous
    assert read_trend(short) == read_trend(whole)
    assert read_trend(short).trend is Trend.NONE


@pytest.mark.parametrize("size", [(1280, 720), (1917, 1003)])
@pytest.mark.parametrize("rising", [False, True])
def test_thin_line_on_a_large_frame(size: tuple[int, int], rising: bool) -> None:
    """Pooled cells keep a one-pixel line's contrast, next to a grid and bold header text."""
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    for y in range(height // 5, height, height // 5):
        cv2.line(canvas, (0, y), (width - 1, y), (225, 225, 225), 1)
    cv2.putText(canvas, "$1,234.56", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 160, 0), 5)
    xs = np.linspace(10, width - 10, 60)
    rng = np.random.default_rng(width + rising)
    walk = np.cumsum(rng.normal(0, 1, 60)) * 0.2 + np.linspace(0, 8 if rising else -8, 60)
    ys = height * 0.85 - (walk - walk.min()) / np.ptp(walk) * height * 0.6
    points = np.stack((xs, ys), axis=1).round().astype(np.int32)
    cv2.polylines(canvas, [points], False, (0, 160, 0), 1, cv2.LINE_AA)
    assert read_trend(canvas).trend is (Trend.UP if rising else Trend.DOWN)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 700, 3), (700, 2, 3), (241, 321, 3)])
def test_odd_sizes_are_read_without_error(shape: tuple[int, int, int]) -> None:
    assert read_trend(np.full(shape, 200, np.uint8)).trend is Trend.NONE
