"""Replay recorded signals through the simulator: test rules on history, no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trade_analysis.domain import Side, Trend, parse_price, parse_wire_time, to_wire
from trade_analysis.trading.fills import FREE, ZERO, Costs
from trade_analysis.trading.gate import SignalKey, passes_gate
from trade_analysis.trading.indicators import IndicatorBook, IndicatorSettings, explain, steer
from trade_analysis.trading.simulator import NO_RULES, Position, Rules, Signal, TradeEvent, decide
from trade_analysis.wire import why

DEFAULT_REPLAY_BOT = "replay"


class BadRow(ValueError):
    pass


@dataclass
class ReplayResult:
    trades: list[TradeEvent] = field(default_factory=list)
    signals: int = 0
    ignored_stale: int = 0
    bad_rows: int = 0
    first_bad_rows: list[str] = field(default_factory=list)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    # Per bot: what its closed round trips made, net (a stake in percent of equity grows
    # and shrinks with it, as on the live path).
    realised: dict[str, Decimal] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        sells = [trade for trade in self.trades if trade.side is Side.SELL]
        profits = [trade.profit for trade in sells if trade.profit is not None]
        wins = sum(1 for profit in profits if profit > 0)
        total = sum(profits, Decimal(0))
        fees = sum((trade.fee for trade in self.trades), Decimal(0))
        return {
            "trades": [trade_json(trade) for trade in self.trades],
            "summary": {
                "total_pnl": float(total),
                "fees": float(fees),
                "trades": len(self.trades),
                "buys": len(self.trades) - len(sells),
                "sells": len(sells),
                "wins": wins,
                "losses": len(profits) - wins,
                "win_rate": round(wins / len(profits), 4) if profits else 0.0,
                "open_positions": sorted(
                    f"{bot}:{ticker}"
                    for (bot, ticker), position in self.positions.items()
                    if position.is_long
                ),
                "signals": self.signals,
                "ignored_stale": self.ignored_stale,
                "bad_rows": self.bad_rows,
                "bad_row_examples": self.first_bad_rows,
            },
        }


def trade_json(trade: TradeEvent) -> dict[str, Any]:
    return {
        "bot": trade.bot,
        "ticker": trade.ticker,
        "side": trade.side.value,
        "price": float(trade.price),
        "timestamp": to_wire(trade.at),
        "profit": None if trade.profit is None else float(trade.profit),
        "reason": trade.reason.value,
        "quantity": float(trade.quantity),
        "fill_price": float(trade.filled_at),
        "fee": float(trade.fee),
        "why": why(trade.reason.value, trade.side.value, trade.why),
    }


def signal_from_row(row: Mapping[str, str | None]) -> Signal:
    """One CSV row (`timestamp,ticker,price,trend[,bot]`) as a signal, or BadRow saying why."""
    try:
        ticker = (row.get("ticker") or "").strip().upper()
        if not ticker:
            raise BadRow("empty ticker")
        trend = Trend((row.get("trend") or "").strip().lower() or "none")
        price = parse_price(row.get("price") or "")
        at = parse_wire_time(row.get("timestamp") or "")
    except BadRow:
        raise
    except ValueError as exc:
        raise BadRow(str(exc)) from exc
    bot = (row.get("bot") or "").strip() or DEFAULT_REPLAY_BOT
    return Signal(bot=bot, ticker=ticker, price=price, trend=trend, at=at)


def replay(
    rows: Iterable[Mapping[str, str | None]],
    rules: Rules = NO_RULES,
    costs: Costs = FREE,
    indicators: IndicatorSettings | None = None,
) -> ReplayResult:
    """Every row's signal through the simulator, as the live path trades them (the same
    gate, and the indicator rules when given, fed from the replayed prices alone), filled
    by `costs` as the ledger fills them: a recorded run re-costed."""
    result = ReplayResult()
    last_signal: dict[str, SignalKey] = {}
    book = IndicatorBook() if indicators is not None and indicators.in_use else None
    for line_number, row in enumerate(rows, start=2):
        try:
            signal = signal_from_row(row)
        except BadRow as exc:
            result.bad_rows += 1
            if len(result.first_bad_rows) < 5:
                result.first_bad_rows.append(f"line {line_number}: {exc}")
            continue
        result.signals += 1
        key = SignalKey(signal.ticker, signal.price, signal.trend)
        if not passes_gate(last_signal.get(signal.bot), key):
            result.ignored_stale += 1
            continue
        last_signal[signal.bot] = key
        slot = (signal.bot, signal.ticker)
        position = result.positions.get(slot) or Position(signal.bot, signal.ticker)
        why = None
        if book is not None and indicators is not None:
            verdict = book.reading(
                signal.bot,
                signal.ticker,
                indicators,
                signal.price,
                _no_history,
                position.last_price,
            )
            signal, position, why = steer(indicators, signal, position, verdict)
        realised = result.realised.get(signal.bot, ZERO)
        result.positions[slot], trade = decide(position, signal, rules, costs, realised)
        if trade is not None and why is not None:
            trade = explain(trade, why)
        if trade is not None:
            result.trades.append(trade)
            result.realised[signal.bot] = realised + (trade.profit or ZERO)
    return result


def _no_history(count: int) -> list[Decimal]:
    return []  # a replay feeds its indicators every price from its first row
