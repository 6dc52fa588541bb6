"""Offline trading tools: replay recorded signals through the simulator."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trade_analysis.cli.common import fail

if TYPE_CHECKING:
    from pydantic import ValidationError


def replay(
    file: Annotated[Path, typer.Argument(help="CSV with timestamp,ticker,price,trend[,bot]")],
    take_profit: Annotated[float | None, typer.Option(min=0.0, help="sell at entry + T")] = None,
    stop_loss: Annotated[float | None, typer.Option(min=0.0, help="sell at entry - S")] = None,
    sell_after_drops: Annotated[int | None, typer.Option(min=1)] = None,
    indicators: Annotated[
        str | None,
        typer.Option(help="indicator rules as a bot saves them, JSON: '{\"rsi_bollinger\": {}}'"),
    ] = None,
) -> None:
    """Run recorded signals through the simulator and print the trades as JSON."""
    from pydantic import ValidationError

    from trade_analysis.trading.indicators import IndicatorSettings
    from trade_analysis.trading.replay import replay as run_replay
    from trade_analysis.trading.simulator import Rules

    if not file.is_file():
        fail(f"{file}: no such file")
    indicator_rules = None
    if indicators is not None:
        try:
            indicator_rules = IndicatorSettings.model_validate_json(indicators)
        except ValidationError as exc:
            fail(f"--indicators: {exc.errors()[0]['msg']} ({_where(exc)})")
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
        result = run_replay(reader, rules, indicator_rules)
    # One dumps call: json.dump's streaming writes are several times slower here.
    sys.stdout.write(json.dumps(result.to_json()) + "\n")


def _amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def _where(exc: ValidationError) -> str:
    location = exc.errors()[0]["loc"]
    return ".".join(str(part) for part in location) or "the whole value"
