"""Trades: the summary of positions and P&L, and a trader's own orders and signals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool

from trade_analysis.db import queries
from trade_analysis.domain import Side, Trend, utcnow
from trade_analysis.services import Services
from trade_analysis.wire import ClosedAll, TradeEntry, TradeSummary


def summary(services: Services, limit: int) -> TradeSummary:
    """Positions and P&L per ticker, and the newest `limit` trades."""
    with services.database.reading() as session:
        return queries.trade_summary(session, limit)


async def manual_trade(
    services: Services,
    *,
    ticker: str,
    price: Decimal,
    direction: Side | Trend,
    at: datetime | None = None,
    bot: str | None = None,
    meta: dict[str, Any] | None = None,
) -> TradeEntry | None:
    """A buy or sell (an order), or an up or down (a signal the simulator may act on, as a
    capture's would be): recorded, and the trade, if any, streamed."""
    common: dict[str, Any] = {
        "ticker": ticker.upper(),
        "price": price,
        "at": at or utcnow(),
        "bot": bot,
        "meta": meta,
    }
    if isinstance(direction, Side):
        recorded = await run_in_threadpool(
            partial(services.ledger.manual_trade, side=direction, **common)
        )
        trade_id, trade = recorded.trade_id, recorded.trade
    else:
        stored = await run_in_threadpool(
            partial(services.ledger.manual_signal, trend=direction, **common)
        )
        if stored.trade is None or stored.trade_id is None:
            return None
        trade_id, trade = stored.trade_id, stored.trade
    return await services.publish_trade(trade_id, trade)


async def close_all(services: Services) -> ClosedAll:
    """Sell every open position of every bot at the last price each read (`close all`), in
    one transaction; each trade streams."""
    closed = await run_in_threadpool(services.ledger.close_all_positions, utcnow())
    trades = [await services.publish_trade(done.trade_id, done.trade) for done in closed]
    return ClosedAll(closed=len(trades), trades=trades)
