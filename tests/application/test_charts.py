"""Reading a chart image, as an upload and `trade-analysis analyze` do."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.analysis.charts import STYLES, make_scene, render_opencv
from tests.images import image_bytes
from trade_analysis.analysis import AnalysisSettings, Crop
from trade_analysis.application.charts import read_chart
from trade_analysis.application.errors import InvalidField
from trade_analysis.domain import Trend

PLAIN = next(style for style in STYLES if style.name == "plain_light")
WHOLE = AnalysisSettings(crop=Crop(left=0, right=0, top=0, bottom=0))


def chart_png(trend: Trend, seed: int) -> bytes:
    scene = make_scene(np.random.default_rng(seed), PLAIN, trend)
    ok, png = cv2.imencode(".png", render_opencv(scene))
    assert ok
    return png.tobytes()


@pytest.mark.parametrize(("trend", "seed"), [(Trend.UP, 1), (Trend.DOWN, 2)])
def test_an_image_and_a_title_give_the_trend_and_the_ticker(trend: Trend, seed: int) -> None:
    reading = read_chart(chart_png(trend, seed), "NVDA - $1,234.56 - Mozilla Firefox", WHOLE)
    assert (reading.ticker, reading.trend) == ("NVDA", trend)


def test_a_title_alone_gives_the_ticker_and_no_trend() -> None:
    reading = read_chart(None, "Amazon (AMZN) $185.07", AnalysisSettings(line_detect=False))
    assert (reading.ticker, str(reading.price), reading.trend) == ("AMZN", "185.07", Trend.NONE)


def test_bytes_that_do_not_decode_name_the_file() -> None:
    with pytest.raises(InvalidField) as refused:
        read_chart(b"\x89PNG\r\n\x1a\n not really", "", WHOLE)
    assert refused.value.field == "file"


def test_a_crop_that_leaves_no_pixels_of_the_image_names_the_crop() -> None:
    settings = AnalysisSettings(crop=Crop(left=0.49, right=0.49, top=0, bottom=0))
    with pytest.raises(InvalidField) as refused:
        read_chart(image_bytes(size=(10, 10)), "", settings)
    assert refused.value.field == "crop"
