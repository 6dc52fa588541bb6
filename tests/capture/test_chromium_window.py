"""A real Chromium window (not headless) showing a broker-like chart page, on Xvfb."""

from __future__ import annotations

from contextlib import closing

import pytest
from tests.support.screen import colour_count
from tests.support.windows import WindowLauncher
from tests.support.xvfb import wait_until

from trade_analysis.capture.frame import Frame
from trade_analysis.capture.sources import open_source

pytestmark = [pytest.mark.x11, pytest.mark.browser]

TITLE = "TSLA $250.12 | Robinhood"
LINE = "#00c805"

CHART_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{TITLE}</title>
<style>html, body {{ margin: 0; background: #ffffff; overflow: hidden; }}</style>
</head><body>
<canvas id="chart" width="760" height="520"></canvas>
<script>
const ctx = document.getElementById("chart").getContext("2d");
const points = [];
let v = 50;
for (let i = 0; i < 60; i++) {{ v += (i < 35 ? -0.8 : 1.2) + Math.sin(i) * 0.3; points.push(v); }}
const lo = Math.min(...points), hi = Math.max(...points);
ctx.strokeStyle = "#e3e3e3";
for (let y = 52; y < 520; y += 104) {{
  ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(760, y); ctx.stroke();
}}
ctx.strokeStyle = "{LINE}"; ctx.lineWidth = 3; ctx.beginPath();
points.forEach((p, i) => {{
  const x = 20 + i * 720 / 59, y = 40 + (hi - p) / (hi - lo) * 440;
  i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
}});
ctx.stroke();
</script></body></html>
"""


def test_chromium_app_window_is_listed_with_its_page_title_and_captured(
    chart_windows: WindowLauncher,
) -> None:
    browser = chart_windows.chromium(CHART_PAGE, TITLE, width=800, height=600)
    with closing(open_source(chart_windows.display)) as source:
        [info] = [w for w in source.list_windows() if w.hwnd == browser.hwnd]
        assert info.title == TITLE  # --app mode appends no " - Chromium"
        assert info.process is not None and "chrom" in info.process
        assert info.width > 0 and info.height > 0
        frames: list[Frame] = []

        def chart_visible() -> bool:
            frame = source.capture(browser.hwnd)
            frames[:] = [frame]
            return colour_count(frame.pixels, LINE) > 300

        wait_until(chart_visible, timeout=20, what="the chart page to be painted")
    frame = frames[0]
    assert frame.method == "composite"
    assert frame.title == TITLE
    assert frame.pixels.shape == (info.height, info.width, 3)
    assert frame.pixels.std() > 5  # not a blank frame
    assert colour_count(frame.pixels, "#ffffff", 2) > 0.5 * info.width * info.height
