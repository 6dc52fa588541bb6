from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.routes.history import csv_response
from trade_analysis.api.schemas import (
    MAX_ROWS,
    ManualTradeRequest,
    ManualTradeResult,
    TradeSummary,
)
from trade_analysis.db import export, queries
from trade_analysis.domain import Side, Trend, utcnow

router = APIRouter(tags=["trades"])


@router.get("/trades", response_model=TradeSummary, summary="Positions, P&L and recent trades")
def trades(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10000, description="how many recent trades")] = 500,
) -> TradeSummary:
    with services.database.reading() as session:
        return TradeSummary.model_validate(queries.trade_summary(session, limit))


@router.get(
    "/trades.csv",
    response_class=StreamingResponse,
    summary="Every trade as CSV, oldest first (streamed); `limit` keeps the newest",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV with a header row"}},
)
def trades_csv(
    services: ServicesDep,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_ROWS, description="the newest this many; all if omitted")
    ] = None,
) -> StreamingResponse:
    return csv_response(
        export.trades_csv(services.database, export.TradeFilter(limit)), "trades.csv"
    )


@router.post(
    "/manual_trade",
    response_model=ManualTradeResult,
    summary="Record a trader's own buy or sell",
    responses={409: {"description": "buy while long, or sell while flat"}},
)
async def manual_trade(order: ManualTradeRequest, services: ServicesDep) -> ManualTradeResult:
    common: dict[str, Any] = {
        "ticker": order.ticker.upper(),
        "price": order.price,
        "at": order.ts or utcnow(),
        "bot": order.bot,
        "meta": order.meta,
    }
    if isinstance(order.direction, Side):
        recorded = await run_in_threadpool(
            partial(services.ledger.manual_trade, side=order.direction, **common)
        )
        trade_id, trade = recorded.trade_id, recorded.trade
    else:
        stored = await run_in_threadpool(
            partial(services.ledger.manual_signal, trend=Trend(order.direction), **common)
        )
        if stored.trade is None or stored.trade_id is None:
            return ManualTradeResult(trade=None)
        trade_id, trade = stored.trade_id, stored.trade
    return ManualTradeResult(trade=await services.publish_trade(trade_id, trade))
