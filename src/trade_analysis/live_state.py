"""What the HTTP side tells live clients after a write has committed."""

from __future__ import annotations

from trade_analysis.api.schemas import TradeEntry
from trade_analysis.domain import to_wire
from trade_analysis.services import Services
from trade_analysis.trading.simulator import TradeEvent


def trade_entry(trade_id: int, trade: TradeEvent) -> TradeEntry:
    return TradeEntry(
        id=trade_id,
        bot=trade.bot,
        ticker=trade.ticker,
        direction=trade.side,
        price=trade.price,
        profit=trade.profit,
        win_reason=trade.reason.value,
        ts=to_wire(trade.at),
    )


async def publish_trade(services: Services, trade_id: int, trade: TradeEvent) -> TradeEntry:
    entry = trade_entry(trade_id, trade)
    await services.publish("trade", entry.model_dump(mode="json"))
    return entry
