"""The whole service's CPU per capture against a bare capture loop's, in the same run.

Starts its own Xvfb, ``--windows`` real X11 chart windows (``python -m
trade_analysis.demo.chart_window --animate``, redrawn every ``--redraw-ms`` with a new
price in the title, so every capture sees a changed frame) and the real service
(``python -m trade_analysis serve``, SQLite in a temporary data dir, ``memory://`` bus)
as subprocesses; everything is stopped at the end. A worker on each window at
``--interval`` (2 Hz by default) is started through ``POST /start_multi``. By hand:

    .venv/bin/python bench/bench_capture_cpu.py [--windows 30] [--seconds 25] [--rounds 3]

Each round, for ``--seconds``, in parallel:

* the service: its CPU time (psutil, user + system, children included) over the round,
  divided by the captures its workers made in it (``successful_captures`` of ``GET
  /workers``) and, for information, by the changed frames it stored (observations);
* a bare loop in a separate process, on the same windows at the same rate, one thread:
  MIT-SHM grab of the window's composite pixmap (``x11_shm.SharedImage``, the
  service's own reader of pixels), crop, ``read_trend`` on the region the service
  reads (the same reader, so its cost is on both sides), a JPEG thumbnail of the
  cropped frame (at most 320 px wide) in base64; its CPU is ``time.process_time`` over the loop.

Prints each round's CPU per capture for both and their ratio, then the median and the
spread over rounds, with the load average (the ratio is only meaningful when both run
in the same conditions; target <= 2.0x).

``--profile DIR`` runs the service under ``bench/_profiled_serve.py`` (cProfile in every
thread, written to DIR when the service stops): for finding where the CPU goes, not for
the figures (profiling slows Python code several times over).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _support import free_port, server_process, verdict
from bench_pipeline import (
    chart_windows,
    cpu_seconds,
    observation_count,
    thumbnail_jpeg,
    ticker,
    virtual_display,
    wait_for_fleet,
    workers_summary,
)

from trade_analysis.analysis import Crop, read_trend
from trade_analysis.cli import serve_command

API_KEY = "bench-capture-cpu-key-0123456789abcdef"
TARGET = 2.0
PROFILED_SERVE = Path(__file__).with_name("_profiled_serve.py")


# -- the bare loop (its own process) -------------------------------------------------------


def bare_loop(display_name: str, hwnds: list[int], interval: float, seconds: float) -> None:
    """The `--bare` process: capture `hwnds` round-robin at `interval`; print a JSON result.

    Prints ``start`` when its setup is done and the measured loop begins.
    """
    from Xlib.display import Display
    from Xlib.ext import composite

    from trade_analysis.capture.sources.x11_shm import SharedImage

    display = Display(display_name)
    shm = SharedImage(display)
    crop = Crop()
    targets = []
    for hwnd in hwnds:
        window = display.create_resource_object("window", hwnd)
        window.composite_redirect_window(composite.RedirectAutomatic)
        geometry = window.get_geometry()
        targets.append((window.composite_name_window_pixmap(), geometry.width, geometry.height))
    display.sync()
    signatures: dict[int, bytes] = {}
    captures = changed = 0

    def capture(index: int) -> None:
        nonlocal captures, changed
        pixmap, width, height = targets[index]
        pixels = shm.get_image(pixmap, width, height)[:, :, :3]
        signature = pixels[::4, ::4].tobytes()
        changed += signature != signatures.get(index)
        signatures[index] = signature
        read_trend(crop.read_region(pixels))
        base64.b64encode(thumbnail_jpeg(crop.apply(pixels)))
        captures += 1

    for index in range(len(targets)):  # warm-up (imports, first allocations)
        capture(index)
    captures = changed = 0
    print("start", flush=True)
    step = interval / len(targets)
    cpu_start, start = time.process_time(), time.monotonic()
    tick = 0
    while (now := time.monotonic()) - start < seconds:
        capture(tick % len(targets))
        tick += 1
        time.sleep(max(0.0, start + tick * step - time.monotonic()))
        del now
    elapsed = time.monotonic() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"cpu": cpu, "captures": captures, "changed": changed, "wall": elapsed}))


def run_bare(
    display: str, hwnds: list[int], interval: float, seconds: float
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--bare",
            display,
            ",".join(map(str, hwnds)),
            str(interval),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DISPLAY": display},
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "start":
        process.kill()
        raise RuntimeError(f"the bare loop did not start ({line!r})")
    return process


# -- the service ------------------------------------------------------------------------------


def round_once(
    client: httpx.Client,
    server_pid: int,
    xvfb_pid: int,
    display: str,
    hwnds: list[int],
    args: argparse.Namespace,
    data_dir: Path,
) -> dict[str, float]:
    processes = [psutil.Process(server_pid), *psutil.Process(server_pid).children(recursive=True)]
    xvfb = [psutil.Process(xvfb_pid)]
    bare = run_bare(display, hwnds, args.interval, args.seconds)
    before = workers_summary(client)
    stored_before = observation_count(data_dir)
    cpu_start, x_start, wall_start = cpu_seconds(processes), cpu_seconds(xvfb), time.monotonic()
    output, _ = bare.communicate(timeout=args.seconds + 60)
    cpu_end, x_end, elapsed = (
        cpu_seconds(processes),
        cpu_seconds(xvfb),
        time.monotonic() - wall_start,
    )
    after = workers_summary(client)
    stored = observation_count(data_dir) - stored_before
    if bare.returncode != 0:
        raise RuntimeError(f"the bare loop failed ({bare.returncode})")
    result = json.loads(output.strip().splitlines()[-1])
    captures = after["successful"] - before["successful"]
    service_cpu = cpu_end - cpu_start
    return {
        "elapsed": elapsed,
        "service_cpu": service_cpu,
        "service_captures": captures,
        "service_stored": stored,
        "service_ms": service_cpu / max(captures, 1) * 1e3,
        "service_ms_changed": service_cpu / max(stored, 1) * 1e3,
        "bare_cpu": result["cpu"],
        "bare_captures": result["captures"],
        "bare_changed": result["changed"],
        "bare_ms": result["cpu"] / max(result["captures"], 1) * 1e3,
        "xvfb_pct": (x_end - x_start) / elapsed * 100,
        "failed": after["failed"] - before["failed"],
        "max_lag": after["max_lag"],
    }


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        _, _, display, listed, interval, seconds = sys.argv
        bare_loop(display, [int(h) for h in listed.split(",")], float(interval), float(seconds))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--width", type=int, default=320, help="chart window width")
    parser.add_argument("--height", type=int, default=200, help="chart window height")
    parser.add_argument("--interval", type=float, default=0.5, help="capture interval (s)")
    parser.add_argument("--redraw-ms", type=int, default=200, help="chart redraw period")
    parser.add_argument("--seconds", type=float, default=25.0, help="length of a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before round 1")
    parser.add_argument("--profile", type=Path, help="cProfile the service into this folder")
    args = parser.parse_args()

    columns = max(1, min(args.windows, 1920 // args.width))
    rows = -(-args.windows // columns)
    screen = (columns * args.width, rows * args.height)
    with (
        tempfile.TemporaryDirectory(prefix="bench-capture-cpu-") as tmp,
        virtual_display(max(screen[0], 640), max(screen[1], 480)) as vdisplay,
        chart_windows(vdisplay.display) as windows,
    ):
        display = vdisplay.display
        data_dir = Path(tmp) / "data"
        port = free_port()
        command = serve_command(port, data_dir, "--log-level", "warning")
        env = {
            "BACKEND_API_KEY": API_KEY,
            "DISPLAY": display,
            "DATABASE_URL": "",
            "BUS_URL": "memory://",
        }
        if args.profile is not None:
            command[1:3] = [str(PROFILED_SERVE)]
            env["PROFILE_DIR"] = str(args.profile.resolve())
        print(
            f"Xvfb {display} ({screen[0]}x{screen[1]}), {os.cpu_count()} CPUs, "
            f"load average {load()}; {args.windows} windows {args.width}x{args.height} redrawn "
            f"every {args.redraw_ms} ms, captured every {args.interval:g} s"
            + (" (service profiled)" if args.profile else "")
        )
        tickers = [ticker(i) for i in range(args.windows)]
        for index, symbol in enumerate(tickers):
            x, y = (index % columns) * args.width, (index // columns) * args.height
            windows.open(
                f"{symbol} {100 + index:.2f} - Robinhood",
                x,
                y,
                args.width,
                args.height,
                "--animate",
                f"--interval-ms={args.redraw_ms}",
                f"--seed={index}",
            )
        with server_process(command, port, env) as (base_url, process):
            client = httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60
            )
            try:
                hwnds = list(wait_for_fleet(client, tickers, timeout=180).values())
                for hwnd in hwnds:
                    response = client.post(
                        "/start_multi", json={"hwnd": hwnd, "interval": args.interval}
                    )
                    response.raise_for_status()
                time.sleep(args.settle)
                rounds = []
                for number in range(1, args.rounds + 1):
                    result = round_once(
                        client, process.pid, vdisplay.process.pid, display, hwnds, args, data_dir
                    )
                    rounds.append(result)
                    report_round(number, result)
            finally:
                with contextlib.suppress(httpx.HTTPError):
                    client.post("/stop_all_workers")
                client.close()
    summary(rounds)


def report_round(number: int, r: dict[str, float]) -> None:
    ratio = r["service_ms"] / r["bare_ms"]
    print(
        f"round {number}: {r['elapsed']:.1f} s, load average {load()}\n"
        f"  service: {r['service_cpu']:.2f} s CPU, {r['service_captures']:.0f} captures "
        f"({r['service_stored']:.0f} changed frames stored), {r['service_ms']:.2f} ms/capture "
        f"({r['service_ms_changed']:.2f} ms/stored frame), failed {r['failed']:.0f}, "
        f"max lag {r['max_lag']:.2f} s\n"
        f"  bare:    {r['bare_cpu']:.2f} s CPU, {r['bare_captures']:.0f} captures "
        f"({r['bare_changed']:.0f} changed), {r['bare_ms']:.2f} ms/capture\n"
        f"  ratio service/bare CPU per capture: {ratio:.2f}x   "
        f"(Xvfb {r['xvfb_pct']:.0f}% of a core)",
        flush=True,
    )


def summary(rounds: list[dict[str, float]]) -> None:
    ratios = [r["service_ms"] / r["bare_ms"] for r in rounds]
    service = [r["service_ms"] for r in rounds]
    bare = [r["bare_ms"] for r in rounds]
    median = statistics.median(ratios)
    print(
        f"\nover {len(rounds)} rounds (load average {load()}):\n"
        f"  service ms/capture: median {statistics.median(service):.2f} "
        f"(range {min(service):.2f}-{max(service):.2f})\n"
        f"  bare ms/capture:    median {statistics.median(bare):.2f} "
        f"(range {min(bare):.2f}-{max(bare):.2f})\n"
        f"  ratio: median {median:.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x)  "
        f"<= {TARGET:g}x {verdict(median <= TARGET)}"
    )


if __name__ == "__main__":
    main()
