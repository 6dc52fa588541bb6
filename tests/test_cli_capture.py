"""`trade-analysis analyze` and `windows` as people and scripts run them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.analysis.charts import STYLES, make_scene, render_opencv
from tests.images import png_declaring
from tests.test_cli import run_cli
from trade_analysis.analysis import ocr_available
from trade_analysis.domain import Trend

PLAIN = next(style for style in STYLES if style.name == "plain_light")


def chart_file(tmp_path: Path, trend: Trend, seed: int, header: bool = False) -> tuple[Path, str]:
    style = PLAIN if not header else type(PLAIN)("with_header", header=True)
    scene = make_scene(np.random.default_rng(seed), style, trend)
    path = tmp_path / f"chart-{seed}.png"
    cv2.imwrite(str(path), render_opencv(scene))
    return path, scene.header


@pytest.mark.parametrize(("trend", "seed"), [(Trend.UP, 1), (Trend.DOWN, 2), (Trend.UP, 3)])
def test_analyze_reads_a_screenshot_and_a_title(tmp_path: Path, trend: Trend, seed: int) -> None:
    image, _ = chart_file(tmp_path, trend, seed)
    result = run_cli(
        "analyze", str(image), "--title", "NVDA - $1,234.56 - Mozilla Firefox", "--crop", "0,0,0,0"
    )
    assert result.returncode == 0, result.stderr
    reading = json.loads(result.stdout)
    assert (reading["ticker"], reading["price"], reading["trend"]) == ("NVDA", 1234.56, trend.value)
    assert 0 <= reading["confidence"] <= 1


def test_analyze_with_only_a_title_has_no_trend() -> None:
    reading = json.loads(run_cli("analyze", "--title", "Amazon (AMZN) $185.07").stdout)
    assert reading == reading | {"ticker": "AMZN", "price": 185.07, "trend": "none"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give an IMAGE, a --title, or both"),
        (("missing.png",), "no such file"),
        (("--title", "AAPL 1", "--crop", "0.7,0.5,0,0"), "no pixels"),
        (("--title", "AAPL 1", "--crop", "a,b"), "crop"),
        (("--title", "AAPL 1", "--title-pattern", "(unclosed"), "pattern"),
    ],
)
def test_analyze_explains_bad_input(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("analyze", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_analyze_refuses_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "chart.png"
    fake.write_text("not an image")
    result = run_cli("analyze", str(fake))
    assert result.returncode == 2 and "not an image" in result.stderr


@pytest.mark.skipif(not ocr_available(), reason="the ocr extra is not installed")
def test_analyze_reads_the_price_from_the_chart_header_with_ocr(tmp_path: Path) -> None:
    image, header = chart_file(tmp_path, Trend.UP, 5, header=True)
    result = run_cli("analyze", str(image), "--title", "Chart - Feed", "--crop", "0,0,0,0", "--ocr")
    assert result.returncode == 0, result.stderr
    price = json.loads(result.stdout)["price"]
    assert Decimal(str(price)) == Decimal(header.replace("$", "").replace(",", ""))


def test_windows_without_a_display_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = run_cli("windows")
    assert result.returncode == 2 and "set DISPLAY" in result.stderr


def test_analyze_refuses_an_image_declaring_too_many_pixels_before_decoding(
    tmp_path: Path,
) -> None:
    image = tmp_path / "huge.png"
    image.write_bytes(png_declaring(50000, 50000))
    result = run_cli("analyze", str(image))
    assert result.returncode == 2
    assert "50000 x 50000 pixels" in result.stderr and "MAX_UPLOAD_PIXELS" in result.stderr
    assert "Traceback" not in result.stderr
