"""The capture side of the command line: windows, analyze, agent and demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import httpx
import typer

from trade_analysis.cli.common import fail, serve_command, steps
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
    from trade_analysis.analysis import (
        AnalysisSettings,
        Crop,
        InvalidCrop,
        InvalidTitlePattern,
        compile_title_pattern,
    )
    from trade_analysis.application.charts import read_chart
    from trade_analysis.application.errors import InvalidField
    from trade_analysis.config import Settings
    from trade_analysis.storage import UnsupportedImage, checked_image

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
    unreadable = f"{image}: not an image OpenCV can read (PNG, JPEG or WebP)"
    data = None
    if image is not None:
        if not image.is_file():
            fail(f"{image}: no such file")
        data = image.read_bytes()
        try:  # the size its header declares, before decoding it
            checked_image(data, Settings().max_upload_pixels)
        except UnsupportedImage:
            fail(unreadable)
        except ValueError as exc:
            fail(f"{image}: {exc}")
    try:
        observation = read_chart(data, title, settings)
    except InvalidField as exc:
        fail(unreadable if exc.field == "file" else str(exc))
    typer.echo(
        json.dumps(
            {
                "name": observation.name,
                "ticker": observation.ticker,
                "price": float(observation.price) if observation.price is not None else None,
                "trend": observation.trend.value,
                "confidence": round(observation.confidence, 4),
                "reason": observation.reason,
                "kind": observation.kind,
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


def demo(
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: Annotated[Path, typer.Option()] = Path("data-demo"),
    seconds: Annotated[float, typer.Option(help="stop after this long (0: until Ctrl-C)")] = 0,
    phase_seconds: Annotated[
        float, typer.Option(min=1, help="how long each window trends up, flat or down")
    ] = 120,
) -> None:
    """Open moving chart windows, start the server and capture them; print where to look."""
    from trade_analysis.demo.desktop import NoVirtualDisplay, start_virtual_display
    from trade_analysis.demo.runner import (
        DEMO_WINDOWS,
        DemoStopped,
        Processes,
        layout,
        log_path,
        screen_size,
        start_workers,
        stop_on_signals,
        wait_for_server,
        window_command,
    )

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the terminal shows what to open
    env = dict(os.environ)
    key = env.setdefault("BACKEND_API_KEY", "devkey")
    log_file = log_path(data_dir)
    virtual = None
    error = None
    with stop_on_signals(), log_file.open("ab") as log:
        processes = Processes(log, env)
        try:
            with steps() as step:
                if not env.get("DISPLAY"):
                    step("starting a virtual display (Xvfb)")
                    virtual = start_virtual_display()
                    env["DISPLAY"] = virtual.display
                step(f"opening {len(DEMO_WINDOWS)} chart windows")
                width, height = screen_size(env["DISPLAY"])
                places = layout(width, height, len(DEMO_WINDOWS))
                for index, (window, place) in enumerate(zip(DEMO_WINDOWS, places, strict=True)):
                    processes.start(window_command(window, index, place, phase_seconds))
                step("starting the server (and migrating its database)")
                server = processes.start(serve_command(port, data_dir))
                url = f"http://127.0.0.1:{port}"
                wait_for_server(url, server)
                step("finding the chart windows")
                headers = {"Authorization": f"Bearer {key}"}
                start_workers(
                    url,
                    headers,
                    DEMO_WINDOWS,
                    alive=lambda: server.poll() is None,
                    watched=lambda count: step(
                        f"watching the chart windows: {count} of {len(DEMO_WINDOWS)}"
                    ),
                )
            typer.echo(
                f"Demo running on DISPLAY={env['DISPLAY']}: {len(DEMO_WINDOWS)} chart windows "
                f"trending up, flat and down ({phase_seconds:g} s each), captured every second;\n"
                "take profit and stop loss (1% of the price) set on the AAPL and TSLA bots.\n"
                f"Log: {log_file}\n"
                "Ctrl-C stops everything.\n"
                f"Dashboard: {url}/  (API key: {key})"
            )
            deadline = time.monotonic() + seconds if seconds else None
            while deadline is None or time.monotonic() < deadline:
                if server.poll() is not None:
                    raise RuntimeError(f"the server stopped; see {log_file}")
                time.sleep(0.2)
        except DemoStopped:
            pass
        except (NoVirtualDisplay, RuntimeError, httpx.HTTPError) as exc:
            error = str(exc)
        finally:
            processes.stop()
            if virtual is not None:
                virtual.stop()
    if error is not None:
        fail(error)
