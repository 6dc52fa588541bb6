"""The `trade-analysis` command as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, inspect

from tests.support.terminal import terminal_run
from trade_analysis.db.migrate import MIGRATIONS_DIR

MIGRATIONS = MIGRATIONS_DIR / "versions"


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


def test_replay_re_costs_a_recorded_run_and_names_a_wrong_cost(tmp_path: Path) -> None:
    csv_file = tmp_path / "results.csv"
    csv_file.write_text(
        "timestamp,ticker,price,trend\n"
        "2026-01-05T15:00:00Z,AAPL,100,up\n"
        "2026-01-05T15:01:00Z,AAPL,110,down\n"
    )
    costs = '{"fee_fixed": "1", "slippage_bps": "100", "stake_kind": "amount", "stake": "1000"}'
    result = run_cli("replay", str(csv_file), "--costs", costs)
    assert result.returncode == 0, result.stderr
    buy, sell = json.loads(result.stdout)["trades"]
    assert (buy["price"], buy["fill_price"], buy["quantity"], buy["fee"]) == (100, 101, 9, 1)
    exact = (Decimal("108.9") - 101) * 9 - 2
    assert (sell["fill_price"], sell["profit"]) == (108.9, float(exact))
    assert json.loads(result.stdout)["summary"]["fees"] == 2
    wrong = run_cli("replay", str(csv_file), "--costs", '{"stake_kind": "shares"}')
    assert wrong.returncode == 2 and "stake_kind" in wrong.stderr


def test_replay_trades_on_indicator_rules_when_given_and_refuses_bad_ones(
    tmp_path: Path,
) -> None:
    csv_file = tmp_path / "results.csv"
    prices = [100.0, 100.1, 99.9, 100.0, 100.8, 101.6, 102.4]
    csv_file.write_text(
        "timestamp,ticker,price,trend\n"
        + "".join(f"2026-01-05T15:0{i}:00Z,AAPL,{p},down\n" for i, p in enumerate(prices))
    )
    rule = '{"slope": {"period": 4, "threshold_pct": 0.5}}'
    result = run_cli("replay", str(csv_file), "--indicators", rule)
    assert result.returncode == 0, result.stderr
    (trade,) = json.loads(result.stdout)["trades"]  # every trend `down`: the slope alone buys
    steep = next(
        p
        for i, p in enumerate(prices[3:], start=3)
        if np.polyfit(range(4), prices[i - 3 : i + 1], 1)[0] / np.mean(prices[i - 3 : i + 1])
        >= 0.005
    )
    assert (trade["side"], trade["price"], trade["reason"]) == ("buy", steep, "indicator")
    assert trade["why"].startswith("slope +") and trade["why"].endswith(">= 0.5%")
    bad = run_cli("replay", str(csv_file), "--indicators", '{"slope": {"period": 1}}')
    assert bad.returncode == 2 and "--indicators" in bad.stderr and "slope.period" in bad.stderr
    costs = '{"fee_fixed": "1", "stake_kind": "amount", "stake": "1000"}'
    both = run_cli("replay", str(csv_file), "--indicators", rule, "--costs", costs)
    assert both.returncode == 0, both.stderr
    (costed,) = json.loads(both.stdout)["trades"]
    assert (costed["reason"], costed["why"], costed["fee"]) == ("indicator", trade["why"], 1)
    assert costed["quantity"] == 1000 // steep


def test_replay_names_a_missing_column(tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("timestamp,price,trend\n2026-01-05T15:00:00Z,1,up\n")
    result = run_cli("replay", str(csv_file))
    assert result.returncode == 2 and "missing column(s) ticker" in result.stderr


def test_replay_of_a_missing_file_says_so(tmp_path: Path) -> None:
    result = run_cli("replay", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


def _on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal, as a user's shell would; its output."""
    return terminal_run(*args, env=env, stdout_too=False)


def test_db_upgrade_on_a_terminal_says_each_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    status, told = _on_a_terminal("db", "upgrade", env={"DATABASE_URL": url})
    assert status == 0, told
    migrated = [line.split(":")[0] for line in told.splitlines() if "migrated " in line]
    revisions = sorted(p.name[:4] for p in MIGRATIONS.glob("0*.py"))
    assert [entry[entry.index("migrated ") :] for entry in migrated] == [
        f"migrated {revision}" for revision in revisions
    ]
    # Upgraded already: nothing to say; and a pipe hears nothing of progress.
    assert "migrated" not in _on_a_terminal("db", "upgrade", env={"DATABASE_URL": url})[1]
    piped = run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}"})
    assert piped.returncode == 0 and "migrated" not in piped.stderr


def test_export_to_a_file_on_a_terminal_counts_the_rows(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from trade_analysis.db import models
    from trade_analysis.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    now = datetime.now(UTC)
    rows = [
        {"ts": now - timedelta(seconds=second), "kind": "observation", "ticker": "AAPL", "meta": {}}
        for second in range(2500)
    ]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(models.Record), rows)
    engine.dispose()

    target = tmp_path / "history.csv"
    status, told = _on_a_terminal("export", "history", "-o", str(target), env={"DATABASE_URL": url})
    assert status == 0, told
    assert "2,500 rows written" in told
    assert len(target.read_text().splitlines()) == 1 + 2500  # the header and every row
    to_stdout = run_cli("export", "history", env={"DATABASE_URL": url})
    assert "rows written" not in to_stdout.stderr
