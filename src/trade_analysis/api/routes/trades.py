from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.routes.history import csv_response
from trade_analysis.api.schemas import (
    MAX_ROWS,
    ClosedAll,
    ManualTradeRequest,
    ManualTradeResult,
    TradeSummary,
)
from trade_analysis.application import trades as application
from trade_analysis.db import export
from trade_analysis.domain import Side, Trend

router = APIRouter(tags=["trades"])


@router.get("/trades", response_model=TradeSummary, summary="Positions, P&L and recent trades")
def trades(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10000, description="how many recent trades")] = 500,
) -> TradeSummary:
    return application.summary(services, limit)


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
    direction = order.direction if isinstance(order.direction, Side) else Trend(order.direction)
    trade = await application.manual_trade(
        services,
        ticker=order.ticker,
        price=order.price,
        direction=direction,
        at=order.ts,
        bot=order.bot,
        meta=order.meta,
    )
    return ManualTradeResult(trade=trade)


@router.post(
    "/close_all_positions",
    response_model=ClosedAll,
    summary="Sell every open position of every bot at the last price each read (`close all`)",
)
async def close_all_positions(services: ServicesDep) -> ClosedAll:
    return await application.close_all(services)
