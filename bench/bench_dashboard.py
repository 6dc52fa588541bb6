"""The dashboard in Debian's Chromium (Playwright) on a real `trade-analysis serve`. By hand:

    .venv/bin/python bench/bench_dashboard.py [--bots 20] [--trades 1000] [--seconds 600]

1. First render: the server holds `--bots` bots and `--trades` trades (uploads). The page
   is opened with the key already in the tab (as after a reload) and the Performance API
   gives the time from navigation start to the mark `ta:first-board` (the board drawn
   with `hello`, /bots and /trades applied). Median of 5 loads; target < 300 ms.
   Baseline, same run: the same page signed out (the sign-in form, no data), to
   `ta:script-ready`; the ratio is what the data costs over loading the page itself.
2. Live updates: every second each bot gets a `worker`, an `observation` and a `frame`
   (a real 320 px JPEG thumbnail, base64), the page gets one `summary`, and every 5 s a
   trade, fed through the page's own WebSocket message handler (so parsing, reducing and
   rendering are measured, not the server). Main-thread busy share from Chromium's
   `Performance.getMetrics` (TaskDuration over wall time, less the forced collections'),
   target < 20 %; baseline: the same page idle (`--idle-seconds`). Memory: the JS heap
   after a forced garbage collection (CDP `HeapProfiler.collectGarbage`) at the start,
   every `--sample-every` seconds and at the end; flat means its trend after the first
   minute (least squares, MB per minute) stays near zero. `--seconds 600`: ten minutes.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from _support import TRADE_ANALYSIS, free_port, server, verdict
from playwright.sync_api import sync_playwright

KEY = "bench-key-d41d8c"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def seed(url: str, bots: int, trades: int) -> None:
    """`trades` trades over `bots` bots: up/down flips, each flip one trade."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        for i in range(trades):
            bot = i % bots
            step = i // bots
            response = client.post(
                "/ingest",
                data={
                    # The window ids the live load below updates: one card per bot.
                    "bot": str(1000 + bot),
                    "name": f"Chart {bot:02d}",
                    "ticker": f"T{bot:02d}",
                    "price": f"{100 + bot + (step % 7) * 0.25:.2f}",
                    "trend": "up" if step % 2 == 0 else "down",
                },
            )
            response.raise_for_status()
        count = len(client.get("/trades", params={"limit": 10000}).json()["all_trades"])
        assert count == trades, f"seeded {count} trades, wanted {trades}"


def thumbnail_b64(seed_value: int) -> str:
    """A 320x200 chart-like JPEG, like a worker's thumbnail."""
    rng = np.random.default_rng(seed_value)
    pixels = np.full((200, 320, 3), 255, np.uint8)
    points = np.cumsum(rng.normal(0, 3, 320)).astype(np.int32) + 100
    for x in range(1, 320):
        cv2.line(pixels, (x - 1, int(points[x - 1])), (x, int(points[x])), (5, 200, 0), 2)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return base64.b64encode(encoded.tobytes()).decode()


def first_render(browser: Any, url: str, signed_in: bool) -> tuple[float, float]:
    """ms from navigation start to the mark, and from `ta:script-ready` to it."""
    context = browser.new_context()
    if signed_in:
        context.add_init_script(f"sessionStorage.setItem('ta-key', {json.dumps(KEY)})")
    page = context.new_page()
    mark = "ta:first-board" if signed_in else "ta:script-ready"
    page.goto(url + "/dashboard/")
    page.wait_for_function(f"() => performance.getEntriesByName({json.dumps(mark)}).length > 0")
    took, ready = (
        float(page.evaluate(f"() => performance.getEntriesByName({json.dumps(name)})[0].startTime"))
        for name in (mark, "ta:script-ready")
    )
    if signed_in:
        cards = page.locator("#cards .card").count()
        assert cards >= 1, "no cards drawn"
    context.close()
    return took, took - ready


FEED = Path(__file__).with_name("dashboard_feed.js").read_text()


def metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def heap_mb(cdp: Any) -> tuple[float, float]:
    """JS heap in use after a forced garbage collection (MB), and the DOM's node count."""
    cdp.send("HeapProfiler.collectGarbage")
    after = metrics(cdp)
    return after["JSHeapUsedSize"] / 1e6, after["Nodes"]


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [t for t, _ in samples], [mb for _, mb in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def live_load(
    browser: Any, url: str, bots: int, seconds: float, feed: bool, sample_every: float = 30
) -> dict[str, Any]:
    context = browser.new_context()
    context.add_init_script(f"sessionStorage.setItem('ta-key', {json.dumps(KEY)})")
    page = context.new_page()
    page.goto(url + "/dashboard/")
    page.wait_for_function("() => performance.getEntriesByName('ta:first-board').length > 0")
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    frames = [thumbnail_b64(i) for i in range(8)]
    heap = [(0.0, *heap_mb(cdp))]
    start, wall = metrics(cdp), time.monotonic()
    gc_busy = 0.0  # the forced collections' own main-thread time, not the page's
    tick = 0
    while time.monotonic() - wall < seconds:
        due = wall + tick
        if feed:
            page.evaluate(FEED, [bots, frames, tick])
        tick += 1
        if tick % int(sample_every) == 0:
            before = metrics(cdp)["TaskDuration"]
            heap.append((time.monotonic() - wall, *heap_mb(cdp)))
            gc_busy += metrics(cdp)["TaskDuration"] - before
        time.sleep(max(0.0, due + 1 - time.monotonic()))
    elapsed = time.monotonic() - wall
    end = metrics(cdp)
    heap.append((elapsed, *heap_mb(cdp)))
    cards = page.locator("#cards .card").count()
    context.close()
    return {
        "busy": (end["TaskDuration"] - start["TaskDuration"] - gc_busy) / elapsed,
        "script": (end["ScriptDuration"] - start["ScriptDuration"]) / elapsed,
        "layout": (end["LayoutDuration"] - start["LayoutDuration"]) / elapsed,
        "heap": heap,
        "cards": cards,
        "ticks": tick,
        "seconds": elapsed,
    }


def report_first_render(base: float, board: float, data: float, args: argparse.Namespace) -> None:
    print(f"\n1. first render (ms, median of {args.loads} loads)")
    print(f"   page alone, signed out: navigation to script ready (baseline) {base:8.1f}")
    print(
        f"   signed-in board ({args.bots} bots, {args.trades} trades): navigation to board "
        f"{board:8.1f}   ratio {board / base:.2f}x   < 300 ms: {verdict(board < 300)}"
    )
    print(f"   of which script ready to board (socket and hello, /bots, render) {data:8.1f}")


WARM_UP = 60.0  # seconds of live load before the heap's trend counts


def report_live(idle: dict[str, Any], busy: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n2. main thread and memory ({busy['ticks']:.0f} ticks of live load)")
    columns = ("seconds", "busy", "script", "layout")
    print(f"   {'':34} " + " ".join(f"{c:>7}" for c in columns) + f" {'heap MB start/end':>18}")
    for name, row in (("idle (baseline)", idle), (f"{args.bots} bots updating each second", busy)):
        print(
            f"   {name:34} {row['seconds']:7.0f} {row['busy']:7.1%} {row['script']:7.1%} "
            f"{row['layout']:7.1%} {row['heap'][0][1]:8.2f} / {row['heap'][-1][1]:<8.2f}"
        )
    print(
        f"   busy {busy['busy'] / max(idle['busy'], 1e-6):.0f}x idle; < 20 % busy: "
        f"{verdict(busy['busy'] < 0.2)}; {busy['cards']:.0f} cards"
    )
    heap = busy["heap"]
    print(
        "   heap after a forced GC (s: MB, DOM nodes): "
        + ", ".join(f"{at:.0f}: {mb:.2f} ({nodes:.0f})" for at, mb, nodes in heap)
    )
    warm_up = min(WARM_UP, busy["seconds"] / 2)
    warm = [(at, mb) for at, mb, _ in heap if at >= warm_up]
    trend = slope_per_minute(warm)
    span = warm[-1][0] - warm[0][0] if len(warm) > 1 else 0.0
    print(
        f"   after {warm_up:.0f} s warm-up: {warm[0][1]:.2f} -> {warm[-1][1]:.2f} MB over "
        f"{span:.0f} s, trend {trend:+.3f} MB/min; "
        f"flat (< 0.05 MB/min): {verdict(abs(trend) < 0.05)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60, help="of live load (600: 10 min)")
    parser.add_argument("--idle-seconds", type=float, default=30, help="of the idle baseline")
    parser.add_argument("--sample-every", type=float, default=30, help="heap sample period (s)")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium")
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        command = [str(TRADE_ANALYSIS), "serve", "--port", str(port), "--data-dir", data_dir]
        env = {"BACKEND_API_KEY": KEY, "DATABASE_URL": "", "BUS_URL": "memory://"}
        with server([*command, "--log-level", "warning"], port, env) as url:
            began = time.monotonic()
            seed(url, args.bots, args.trades)
            print(
                f"seeded {args.bots} bots, {args.trades} trades in {time.monotonic() - began:.1f} s"
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    first_render(browser, url, True)  # warm the server's and browser's caches
                    signed_out = [first_render(browser, url, False) for _ in range(args.loads)]
                    signed_in = [first_render(browser, url, True) for _ in range(args.loads)]
                    report_first_render(
                        statistics.median(took for took, _ in signed_out),
                        statistics.median(took for took, _ in signed_in),
                        statistics.median(after for _, after in signed_in),
                        args,
                    )
                    idle = live_load(browser, url, args.bots, args.idle_seconds, False)
                    busy = live_load(browser, url, args.bots, args.seconds, True, args.sample_every)
                finally:
                    browser.close()
    report_live(idle, busy, args)


if __name__ == "__main__":
    main()
