"""Price from the chart's header by OCR (the optional `ocr` extra).

Tests that run the engine skip when it is not installed, unless TA_REQUIRE_E2E=1,
where a missing engine fails them. The others (where the text is looked for,
when analyze() asks for it) run everywhere.
"""

from __future__ import annotations

import os
import zlib
from decimal import Decimal

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import trade_analysis.analysis.observation as observation
from tests.analysis.charts import RENDERERS, STYLES, Style, make_scene
from trade_analysis.analysis import AnalysisSettings, Crop, analyze, ocr
from trade_analysis.domain import Trend

HEADER_STYLES = [
    Style("header_light", header=True, grid=True, fill=True, axis_text=True),
    Style("header_dark", dark=True, header=True, grid=True, dotted=True, axis_text=True),
    Style("header_jpeg", dark=None, header=True, grid=True, fill=True, jpeg=50),
]


@pytest.fixture
def engine() -> None:
    if ocr.ocr_available():
        return
    if os.environ.get("TA_REQUIRE_E2E") == "1":
        pytest.fail("TA_REQUIRE_E2E=1 but the OCR engine is missing: pip install -e '.[ocr]'")
    pytest.skip("OCR engine not installed (pip install 'trade-analysis[ocr]')")


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(repr(part).encode()) for part in parts])


def _amount(header: str) -> Decimal:
    return Decimal(header.replace("$", "").replace(",", ""))


def _broker_header(dark: bool) -> tuple[np.ndarray, Decimal]:
    """A Pillow-drawn page: ticker above, big price, smaller change beside it, a chart below."""
    background, ink, green = ((20, 20, 24), (235, 235, 235), (40, 200, 90))
    if not dark:
        background, ink, green = ((255, 255, 255), (20, 20, 20), (0, 150, 60))
    image = Image.new("RGB", (720, 420), background)
    draw = ImageDraw.Draw(image)
    draw.text((16, 10), "AAPL  Apple Inc.", fill=ink, font=ImageFont.load_default(size=16))
    draw.text((16, 34), "$185.07", fill=ink, font=ImageFont.load_default(size=44))
    draw.text((210, 52), "+1.24 (0.67%) Today", fill=green, font=ImageFont.load_default(size=16))
    xs = np.linspace(10, 700, 80)
    ys = 380 - np.cumsum(_rng("broker", dark).normal(2.5, 2.0, 80))  # rising to the end
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=green, width=2)
    bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    return bgr, Decimal("185.07")


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("style", HEADER_STYLES, ids=[s.name for s in HEADER_STYLES])
def test_reads_the_header_price(engine: None, style: Style, renderer: str) -> None:
    for seed in range(3):
        scene = make_scene(_rng("ocr", style.name, renderer, seed), style, Trend.UP)
        pixels = RENDERERS[renderer](scene)
        assert ocr.read_price_from_image(pixels) == _amount(scene.header), scene.header


@pytest.mark.parametrize("dark", [False, True])
def test_reads_a_broker_style_header(engine: None, dark: bool) -> None:
    pixels, price = _broker_header(dark)
    assert ocr.read_price_from_image(pixels) == price
    # A window capture hands out a BGR view of BGRX memory.
    bgrx = cv2.cvtColor(pixels, cv2.COLOR_BGR2BGRA)
    assert ocr.read_price_from_image(bgrx[:, :, :3]) == price


@pytest.mark.parametrize("style", [STYLES[0], STYLES[1], STYLES[4]], ids=lambda s: s.name)
def test_no_header_text_means_no_price(engine: None, style: Style) -> None:
    # Steep stretches of the line reach into the header band: never read as a price.
    for renderer in sorted(RENDERERS):
        for seed in range(4):
            scene = make_scene(_rng("no header", style.name, renderer, seed), style, Trend.UP)
            assert ocr.read_price_from_image(RENDERERS[renderer](scene)) is None


def test_analyze_reads_the_price_when_the_title_has_none(engine: None) -> None:
    pixels, price = _broker_header(dark=True)
    settings = AnalysisSettings(crop=Crop(right=0.0), ocr=True)
    observation_ = analyze(pixels, "Robinhood - Google Chrome", settings)
    assert observation_.price == price


def test_the_broker_header_chart_reads_up() -> None:
    pixels, _ = _broker_header(dark=True)
    settings = AnalysisSettings(crop=Crop(right=0.0))
    assert analyze(pixels, "Robinhood - Google Chrome", settings).trend is Trend.UP


def test_header_line_is_found_without_the_engine() -> None:
    scene = make_scene(_rng("lines"), HEADER_STYLES[0], Trend.UP)
    pixels = RENDERERS["pillow"](scene)
    lines = ocr.text_lines(ocr.header_region(pixels))
    assert lines, "the header price was not found"
    # The tallest line is the price: wider than tall, in the top band, about the font's size.
    height, width = lines[0].shape[:2]
    assert width > 2 * height
    assert 0.05 * scene.height < height < 0.3 * scene.height


def test_blank_header_has_no_lines() -> None:
    assert ocr.text_lines(np.full((60, 300, 3), 250, np.uint8)) == []


def test_without_the_engine_there_is_no_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "ocr_available", lambda: False)
    pixels, _ = _broker_header(dark=False)
    assert ocr.read_price_from_image(pixels) is None
    with pytest.raises(ValueError, match="pixels"):
        ocr.read_price_from_image(np.zeros((10, 10), np.uint8))


def test_analyze_asks_for_ocr_only_when_on_and_the_title_has_no_price(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, ...]] = []

    def fake_read(pixels: np.ndarray) -> Decimal:
        calls.append(pixels.shape)
        return Decimal("42.5")

    monkeypatch.setattr(observation, "read_price_from_image", fake_read)
    pixels = np.full((200, 300, 3), 255, np.uint8)
    assert AnalysisSettings().ocr is False
    assert analyze(pixels, "Chart - Chrome", AnalysisSettings()).price is None
    assert calls == []
    assert analyze(pixels, "TSLA $250.12", AnalysisSettings(ocr=True)).price == Decimal("250.12")
    assert calls == []
    settings = AnalysisSettings(crop=Crop(right=0.5), ocr=True, line_detect=False)
    assert analyze(pixels, "Chart - Chrome", settings).price == Decimal("42.5")
    assert calls == [(200, 150, 3)]  # the cropped chart, not the whole window
