"""Offline trading tools: replay recorded signals through the simulator."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trade_analysis.cli.common import fail

if TYPE_CHECKING:
    from pydantic import ValidationError


def replay(
    file: Annotated[Path, typer.Argument(help="CSV with timestamp,ticker,price,trend[,bot]")],
    take_profit: Annotated[float | None, typer.Option(min=0.0, help="sell at entry + T")] = None,
    stop_loss: Annotated[float | None, typer.Option(min=0.0, help="sell at entry - S")] = None,
    sell_after_drops: Annotated[int | None, typer.Option(min=1)] = None,
    costs: Annotated[
        str | None,
        typer.Option(
            help="fees, slippage and stake as a bot's `costs`, JSON: '{\"fee_percent\": 0.1, "
            '"slippage_bps": 5, "stake_kind": "amount", "stake": 1000}\''
        ),
    ] = None,
    indicators: Annotated[
        str | None,
        typer.Option(help="indicator rules as a bot saves them, JSON: '{\"rsi_bollinger\": {}}'"),
    ] = None,
) -> None:
    """Run recorded signals through the simulator and print the trades as JSON."""
    from pydantic import ValidationError

    from trade_analysis.trading.fills import FREE
    from trade_analysis.trading.indicators import IndicatorSettings
    from trade_analysis.trading.replay import replay as run_replay
    from trade_analysis.trading.rules import CostsSettings
    from trade_analysis.trading.simulator import Rules

    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        fills = CostsSettings.model_validate_json(costs).over(FREE) if costs else FREE
    except ValidationError as exc:
        fail(f"--costs: {_errors_text(exc)}")
    indicator_rules = None
    if indicators is not None:
        try:
            indicator_rules = IndicatorSettings.model_validate_json(indicators)
        except ValidationError as exc:
            fail(f"--indicators: {_errors_text(exc)}")
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
        result = run_replay(reader, rules, fills, indicator_rules)
    # One dumps call: json.dump's streaming writes are several times slower here.
    sys.stdout.write(json.dumps(result.to_json()) + "\n")


def _errors_text(exc: ValidationError) -> str:
    return "; ".join(_error_text(error) for error in exc.errors())


def _error_text(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))
