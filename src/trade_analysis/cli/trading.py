"""Offline trading tools: replay recorded signals through the simulator."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from trade_analysis.cli.common import fail


def replay(
    file: Annotated[Path, typer.Argument(help="CSV with timestamp,ticker,price,trend[,bot]")],
    take_profit: Annotated[float | None, typer.Option(min=0.0, help="sell at entry + T")] = None,
    stop_loss: Annotated[float | None, typer.Option(min=0.0, help="sell at entry - S")] = None,
    sell_after_drops: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Run recorded signals through the simulator and print the trades as JSON."""
    from trade_analysis.trading.replay import replay as run_replay
    from trade_analysis.trading.simulator import Rules

    if not file.is_file():
        fail(f"{file}: no such file")
    rules = Rules(
        take_profit=_amount(take_profit),
        stop_loss=_amount(stop_loss),
        sell_after_drops=sell_after_drops,
    )
    with file.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        missing = {"timestamp", "ticker", "price", "trend"} - set(reader.fieldnames or [])
        if missing:
            fail(f"{file}: missing column(s) {', '.join(sorted(missing))}")
        result = run_replay(reader, rules)
    # One dumps call: json.dump's streaming writes are several times slower here.
    sys.stdout.write(json.dumps(result.to_json()) + "\n")


def _amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))
