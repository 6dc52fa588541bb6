"""CSV exports keep memory flat: peak RSS exporting a million history rows vs ten thousand.

For each ledger size (bench_history's cached SQLite databases: `records` over the last
7 days; their trades copied until there are as many trades as records):

- CLI: `trade-analysis export history --days 8 -o FILE` and `export trades -o FILE`, each
  in its own process, which reports its own peak RSS (VmHWM) when done.
- HTTP: `trade-analysis serve` on a copy of the database; `GET /history.csv?days=8` and
  `GET /trades.csv` streamed to a file by the client; the server's peak RSS (VmHWM in
  /proc) after each, against its peak before any export (it includes start-up).

Verdict: peak RSS at the large size <= 1.1x that at the small size, for every probe.
Run by hand:

    .venv/bin/python bench/bench_export.py [--small 10000] [--large 1000000] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx
from _support import free_port, stop, verdict, wait_for_ping
from bench_history import SERVER_ENV, ensure_database, working_copy

from trade_analysis.cli import serve_command

TARGET = 1.1


def cli_peak_kib(data_dir: Path, *arguments: str) -> tuple[int, int]:
    """(peak RSS KiB, CSV lines) of one `trade-analysis export` process.

    The process reports its own VmHWM: the rusage a parent gets also counts the
    parent's own pages the child had before it exec'd.
    """
    output = data_dir.parent / "cli-export.csv"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "export",
        *arguments,
        "-o",
        str(output),
        "--data-dir",
        str(data_dir),
    ]
    completed = subprocess.run(
        command, env={**os.environ, **SERVER_ENV}, capture_output=True, text=True, check=True
    )
    with output.open("rb") as stream:
        lines = sum(1 for _ in stream)
    return int(completed.stdout.strip().splitlines()[-1]), lines


def run_child(arguments: list[str]) -> None:
    """Run the command line in this process, then print this process's peak RSS."""
    from trade_analysis.cli import main as cli_main

    try:
        cli_main(arguments)
    except SystemExit as exit_:
        if exit_.code:
            raise
    print(high_water_kib(os.getpid()))


def top_up_trades(path: Path, rows: int) -> int:
    """Copy trades until there are at least `rows` (the ledger, not just its records)."""
    with closing(sqlite3.connect(path)) as connection:
        while (count := connection.execute("SELECT count(*) FROM trades").fetchone()[0]) < rows:
            connection.execute(
                "INSERT INTO trades (ts, bot, ticker, side, price, reason, profit, meta) "
                "SELECT ts, bot, ticker, side, price, reason, profit, meta FROM trades LIMIT ?",
                (rows - count,),
            )
            connection.commit()
        return int(count)


def high_water_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


def http_peaks_kib(data_dir: Path) -> dict[str, tuple[int, int]]:
    """The server's peak RSS before any export and after each (route -> (KiB, lines))."""
    key = secrets.token_urlsafe(16)
    port = free_port()
    env = {**os.environ, **SERVER_ENV, "BACKEND_API_KEY": key}
    process = subprocess.Popen(
        [*serve_command(port, data_dir), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    peaks: dict[str, tuple[int, int]] = {}
    try:
        wait_for_ping(base, process)
        headers = {"Authorization": f"Bearer {key}"}
        httpx.get(base + "/trades", headers=headers, params={"limit": 10}, timeout=60)
        time.sleep(1)
        peaks["before"] = (high_water_kib(process.pid), 0)
        for route, params in (("/history.csv", {"days": 8}), ("/trades.csv", {})):
            lines = 0
            with httpx.stream(
                "GET", base + route, headers=headers, params=params, timeout=600
            ) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    lines += chunk.count(b"\n")
            peaks[route] = (high_water_kib(process.pid), lines)
    finally:
        stop(process)
    return peaks


def measure(rows: int, rebuild: bool, work: Path) -> dict[str, tuple[int, int]]:
    ensure_database(rows, rebuild)
    data_dir = work / f"rows-{rows}"
    working_copy(rows, data_dir)
    trades = top_up_trades(data_dir / "trade_analysis.db", rows)
    print(f"  {rows:,} records, {trades:,} trades")
    results = {
        "cli history": cli_peak_kib(data_dir, "history", "--days", "8"),
        "cli trades": cli_peak_kib(data_dir, "trades"),
    }
    for route, peak in http_peaks_kib(data_dir).items():
        results[f"http {route}"] = peak
    return results


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        run_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        small = measure(args.small, args.rebuild, Path(tmp))
        large = measure(args.large, args.rebuild, Path(tmp))
    print()
    print(
        f"{'probe':<20} {'small KiB':>10} {'lines':>9} {'large KiB':>10} {'lines':>9} {'ratio':>6}"
    )
    ratios = []
    for probe in small:
        (small_kib, small_lines), (large_kib, large_lines) = small[probe], large[probe]
        ratio = large_kib / small_kib
        ratios.append(ratio)
        print(
            f"{probe:<20} {small_kib:>10,} {small_lines:>9,} {large_kib:>10,} "
            f"{large_lines:>9,} {ratio:>5.2f}x"
        )
    worst = max(ratios)
    print(
        f"{verdict(worst <= TARGET)}: peak RSS at {args.large:,} rows <= {TARGET}x that at "
        f"{args.small:,} (worst {worst:.2f}x)"
    )


if __name__ == "__main__":
    main()
