"""The capture side of the command line: windows, analyze, agent and demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import httpx
import typer

from trade_analysis.cli.common import fail, serve_command
from trade_analysis.config import Settings


def windows(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the windows that can be captured, as /windows does."""
    from trade_analysis.capture.sources import CaptureUnavailable, open_source

    try:
        source = open_source()
    except CaptureUnavailable as exc:
        fail(str(exc))
        return
    try:
        listed = [asdict(window) for window in source.list_windows()]
    finally:
        source.close()
    if as_json:
        typer.echo(json.dumps(listed))
        return
    for window in listed:
        typer.echo(
            f"{window['hwnd']:>10}  {window['width']}x{window['height']}"
            f"+{window['x']}+{window['y']}  {window['process'] or '-':<12}  {window['title']}"
        )


def analyze(
    image: Annotated[Path | None, typer.Argument(help="a PNG/JPEG/WebP screenshot")] = None,
    title: Annotated[str, typer.Option(help="the window title")] = "",
    crop: Annotated[str | None, typer.Option(help="edge fractions l,r,t,b")] = None,
    title_pattern: Annotated[
        str | None, typer.Option(help="regex with ticker/price groups")
    ] = None,
    no_line_detect: Annotated[bool, typer.Option(help="skip the chart trend")] = False,
    ocr: Annotated[
        bool, typer.Option(help="read the price from the chart header (the `ocr` extra)")
    ] = False,
) -> None:
    """Read ticker, price and trend from a screenshot and/or a title; prints JSON."""
    import cv2
    import numpy as np

    from trade_analysis.analysis import (
        AnalysisSettings,
        Crop,
        InvalidCrop,
        InvalidTitlePattern,
        compile_title_pattern,
    )
    from trade_analysis.analysis import (
        analyze as read_frame,
    )

    if image is None and not title:
        fail("give an IMAGE, a --title, or both")
    try:
        settings = AnalysisSettings(
            crop=Crop.from_text(crop) if crop else Crop(left=0, right=0, top=0, bottom=0),
            line_detect=image is not None and not no_line_detect,
            title_pattern=title_pattern,
            ocr=ocr,
        )
        if title_pattern:
            compile_title_pattern(title_pattern)
    except (InvalidCrop, InvalidTitlePattern) as exc:
        fail(str(exc))
        return
    if image is not None:
        if not image.is_file():
            fail(f"{image}: no such file")
        pixels = cv2.imdecode(np.fromfile(image, dtype=np.uint8), cv2.IMREAD_COLOR)
        if pixels is None:
            fail(f"{image}: not an image OpenCV can read (PNG, JPEG or WebP)")
    else:
        pixels = np.full((2, 2, 3), 255, np.uint8)
    try:
        observation = read_frame(pixels, title, settings)
    except InvalidCrop as exc:
        fail(str(exc))
        return
    typer.echo(
        json.dumps(
            {
                "name": observation.name,
                "ticker": observation.ticker,
                "price": float(observation.price) if observation.price is not None else None,
                "trend": observation.trend.value,
                "confidence": round(observation.confidence, 4),
                "reason": observation.reason,
            }
        )
    )


def agent(
    data_dir: Annotated[Path | None, typer.Option(help="screenshots (and SQLite) location")] = None,
) -> None:
    """Run the capture workers here, controlled over BUS_URL by every API process."""
    if data_dir is not None:
        os.environ["TRADE_ANALYSIS_DATA_DIR"] = str(data_dir)
    settings = Settings()
    if settings.bus_url.startswith("memory://"):
        fail(
            "the agent talks to API processes over a shared bus: set BUS_URL=redis://host:6379/0 "
            "(memory:// only reaches one process)"
        )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run_agent(settings))


async def _run_agent(settings: Settings) -> None:
    from trade_analysis.capture.agent import Agent
    from trade_analysis.services import Role, open_services

    async with open_services(settings, Role.AGENT) as services:
        await Agent(services.hub.bus, services.capture, services.channels).run()


DEMO_WINDOWS = [
    ("AAPL 189.23 - Robinhood", "up", "#00c805", "light", 20, 20),
    ("TSLA $250.12 | Robinhood - Google Chrome", "down", "#00c805", "dark", 680, 20),
    ("NVDA - $1,234.56 - Mozilla Firefox", "up", "#ff5000", "light", 20, 440),
]


def demo(
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: Annotated[Path, typer.Option()] = Path("data-demo"),
    seconds: Annotated[float, typer.Option(help="stop after this long (0: until Ctrl-C)")] = 0,
) -> None:
    """Open moving chart windows, start the server and capture them; print where to look."""
    from trade_analysis.demo.desktop import NoVirtualDisplay, start_virtual_display

    virtual = None
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        try:
            virtual = start_virtual_display()
        except NoVirtualDisplay as exc:
            fail(f"no DISPLAY and no virtual one: {exc}")
            return
        env["DISPLAY"] = virtual.display
    key = env.setdefault("BACKEND_API_KEY", "devkey")
    children: list[subprocess.Popen[bytes]] = []
    try:
        for title, trend, color, theme, x, y in DEMO_WINDOWS:
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "trade_analysis.demo.chart_window",
                        "--title",
                        title,
                        "--trend",
                        trend,
                        "--color",
                        color,
                        "--theme",
                        theme,
                        "--x",
                        str(x),
                        "--y",
                        str(y),
                        "--width",
                        "640",
                        "--height",
                        "400",
                        "--animate",
                    ],
                    env=env,
                )
            )
        server = subprocess.Popen(
            serve_command(port, data_dir),
            env=env,
        )
        children.append(server)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        _start_demo_workers(url, headers)
        typer.echo(
            f"\nDemo running on DISPLAY={env['DISPLAY']}.\n"
            f"  workers:  curl -H 'Authorization: Bearer {key}' {url}/workers\n"
            f"  trades:   curl -H 'Authorization: Bearer {key}' {url}/trades\n"
            f"  live:     ws://127.0.0.1:{port}/api/v1/ws?token={key}\n"
            "Ctrl-C stops it."
        )
        deadline = time.monotonic() + seconds if seconds else None
        while deadline is None or time.monotonic() < deadline:
            if server.poll() is not None:
                fail("the server stopped")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if virtual is not None:
            virtual.stop()


def _start_demo_workers(url: str, headers: dict[str, str], timeout: float = 30) -> None:
    titles = {title for title, *_ in DEMO_WINDOWS}
    deadline = time.monotonic() + timeout
    started: set[int] = set()
    while time.monotonic() < deadline and len(started) < len(titles):
        try:
            listed = httpx.get(f"{url}/windows", headers=headers, timeout=5).json()
        except (httpx.TransportError, ValueError):
            time.sleep(0.3)
            continue
        for window in listed if isinstance(listed, list) else []:
            prefix_match = any(window["title"].split()[0] == t.split()[0] for t in titles)
            if prefix_match and window["hwnd"] not in started:
                httpx.post(
                    f"{url}/start_multi",
                    headers=headers,
                    timeout=10,
                    json={"hwnd": window["hwnd"], "interval": 1},
                )
                started.add(window["hwnd"])
        time.sleep(0.3)
    if len(started) < len(titles):
        fail(f"only {len(started)} of {len(titles)} demo windows appeared in time")
