from __future__ import annotations

import math

import numpy as np
import pytest

from trade_analysis.analysis.crop import Crop, InvalidCrop


def test_default_cuts_the_right_sixth() -> None:
    pixels = np.zeros((100, 200, 3), np.uint8)
    assert Crop().apply(pixels).shape == (100, 168, 3)


@pytest.mark.parametrize("field", ["left", "right", "top", "bottom"])
@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, math.inf])
def test_bad_edge_is_named(field: str, value: float) -> None:
    with pytest.raises(InvalidCrop, match=field):
        Crop(**{"left": 0.0, "right": 0.0, "top": 0.0, "bottom": 0.0, field: value})


def test_non_number_is_refused() -> None:
    with pytest.raises(InvalidCrop, match="top"):
        Crop(top="0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize("crop", [dict(left=0.5, right=0.5), dict(top=0.7, bottom=0.3)])
def test_crop_leaving_nothing_is_refused(crop: dict[str, float]) -> None:
    with pytest.raises(InvalidCrop, match="crop leaves no pixels"):
        Crop(**{"right": 0.0, **crop})


def test_tiny_image_with_nothing_left_is_refused() -> None:
    with pytest.raises(InvalidCrop, match="crop leaves no pixels"):
        Crop(left=0.4, right=0.4).apply(np.zeros((10, 2, 3), np.uint8))


def test_apply_returns_a_view_of_the_right_region() -> None:
    pixels = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    cropped = Crop(left=0.1, right=0.25, top=0.2, bottom=0.1).apply(pixels)
    assert cropped.base is pixels or np.shares_memory(cropped, pixels)
    assert np.array_equal(cropped, pixels[2:9, 2:15])


def test_apply_accepts_a_non_contiguous_view() -> None:
    pixels = np.zeros((40, 80, 3), np.uint8)[:, ::2]
    assert Crop.uniform(0.25).apply(pixels).shape == (20, 20, 3)


def test_uniform_and_from_text() -> None:
    assert Crop.uniform(0.1) == Crop(0.1, 0.1, 0.1, 0.1)
    assert Crop.from_text(" 0.1, 0.2,0,0.05 ") == Crop(0.1, 0.2, 0.0, 0.05)


@pytest.mark.parametrize(
    ("text", "message"),
    [("0.1,0.2", "four fractions"), ("0.1,x,0,0", "right"), ("0,0,2,0", "top")],
)
def test_from_text_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidCrop, match=message):
        Crop.from_text(text)
