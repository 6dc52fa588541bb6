"""The `trade-analysis` command as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "trade_analysis", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_serve_refuses_a_public_address_with_the_default_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BACKEND_API_KEY"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trade_analysis",
            "serve",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "refusing to listen on '0.0.0.0'" in result.stderr
    assert "BACKEND_API_KEY" in result.stderr


def test_serve_refuses_several_workers_on_the_in_memory_bus(tmp_path: Path) -> None:
    result = run_cli(
        "serve",
        "--workers",
        "2",
        "--data-dir",
        str(tmp_path),
        env={"BACKEND_API_KEY": "k", "BUS_URL": "memory://"},
    )
    assert result.returncode == 2 and "shared bus" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_cli("db", "upgrade", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"records", "observations", "trades", "bots", "positions"} <= tables


def test_replay_prints_trades_and_summary_as_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "results.csv"
    csv_file.write_text(
        "timestamp,image_path,ticker,price,trend\n"
        "2026-01-05T15:00:00Z,a.png,AAPL,$100.00,up\n"
        "2026-01-05T15:01:00Z,b.png,AAPL,$104.50,up\n"
        "2026-01-05T15:02:00Z,c.png,AAPL,not-a-price,down\n"
        "2026-01-05T15:03:00Z,d.png,AAPL,$103.00,down\n"
    )
    result = run_cli("replay", str(csv_file), "--take-profit", "4")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [(t["side"], t["price"], t["reason"]) for t in output["trades"]] == [
        ("buy", 100.0, "signal"),
        ("sell", 104.5, "take_profit"),
    ]
    assert output["summary"]["total_pnl"] == 4.5 and output["summary"]["bad_rows"] == 1


def test_replay_names_a_missing_column(tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("timestamp,price,trend\n2026-01-05T15:00:00Z,1,up\n")
    result = run_cli("replay", str(csv_file))
    assert result.returncode == 2 and "missing column(s) ticker" in result.stderr


def test_replay_of_a_missing_file_says_so(tmp_path: Path) -> None:
    result = run_cli("replay", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr
