"""Open positions marked to market: what a long position is worth at the last price read.

Pure: the ledger's rows and a clock reading in, values out. Realised P&L (closed
round trips) and unrealised P&L (open positions at their last price) are kept
apart everywhere, so a total never mixes money banked with money on paper.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trade_analysis.domain import to_wire
from trade_analysis.wire import OpenPositionPublic, PnlTotals

_PERCENT_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A long position and the newest price its bot read for the ticker."""

    bot: str
    ticker: str
    entry_price: Decimal
    entry_time: datetime | None
    last_price: Decimal | None
    name: str | None = None
    # Units held (one for a position from before costs existed).
    quantity: Decimal = Decimal(1)

    @property
    def mark(self) -> Decimal:
        """The price the position is valued at: the last one read, else what it cost."""
        return self.last_price if self.last_price is not None else self.entry_price

    @property
    def unrealised_pnl(self) -> Decimal:
        """What selling every unit at the last price read would make, before costs."""
        return (self.mark - self.entry_price) * self.quantity

    @property
    def unrealised_pct(self) -> Decimal:
        """Percent of the entry price, four decimals (0 for a free position)."""
        if self.entry_price == 0:
            return Decimal(0)
        change = self.mark - self.entry_price
        return (change / self.entry_price * 100).quantize(_PERCENT_PLACES)

    def open_seconds(self, now: datetime) -> float | None:
        if self.entry_time is None:
            return None
        return max(0.0, round((now - self.entry_time).total_seconds(), 3))

    def marked(self, now: datetime) -> OpenPositionPublic:
        """As the API shows it: entry, last price, unrealised P&L and percent, time open."""
        return OpenPositionPublic(
            bot=self.bot,
            name=self.name,
            ticker=self.ticker,
            entry_price=self.entry_price,
            entry_time=to_wire(self.entry_time) if self.entry_time else None,
            last_price=self.mark,
            unrealised_pnl=self.unrealised_pnl,
            unrealised_pct=self.unrealised_pct,
            open_seconds=self.open_seconds(now),
            quantity=self.quantity,
        )


def unrealised_total(positions: Iterable[OpenPosition]) -> Decimal:
    return sum((position.unrealised_pnl for position in positions), Decimal(0))


def pnl_totals(realised: Decimal, held: Iterable[OpenPosition], now: datetime) -> PnlTotals:
    """Realised and unrealised P&L apart, and the open positions marked; the seed's
    `total_pnl_all_tickers` stays what it always was, the realised total."""
    held = list(held)
    return PnlTotals(
        total_pnl_all_tickers=realised,
        realised_pnl=realised,
        unrealised_pnl=unrealised_total(held),
        open_positions=[position.marked(now) for position in held],
    )
