"""The signal gate: a bot's unchanged observation must not trade twice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trade_analysis.domain import Trend


@dataclass(frozen=True, slots=True)
class SignalKey:
    ticker: str
    price: Decimal
    trend: Trend

    def to_json(self) -> dict[str, str]:
        return {"ticker": self.ticker, "price": str(self.price), "trend": self.trend.value}

    @classmethod
    def from_json(cls, data: object) -> SignalKey | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(str(data["ticker"]), Decimal(str(data["price"])), Trend(data["trend"]))
        except (KeyError, ValueError, ArithmeticError):
            return None


def passes_gate(previous: SignalKey | None, current: SignalKey) -> bool:
    """Only a signal that differs from the bot's previous one may trade."""
    return previous != current
