from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import ManualTradeRequest, ManualTradeResult, TradeSummary
from trade_analysis.db import queries
from trade_analysis.domain import utcnow

router = APIRouter(tags=["trades"])


@router.get("/trades", response_model=TradeSummary, summary="Positions, P&L and recent trades")
def trades(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10000, description="how many recent trades")] = 500,
) -> TradeSummary:
    with services.database.reading() as session:
        return TradeSummary.model_validate(queries.trade_summary(session, limit))


@router.post(
    "/manual_trade",
    response_model=ManualTradeResult,
    summary="Record a trader's own buy or sell",
    responses={409: {"description": "buy while long, or sell while flat"}},
)
async def manual_trade(order: ManualTradeRequest, services: ServicesDep) -> ManualTradeResult:
    recorded = await run_in_threadpool(
        services.ledger.manual_trade,
        ticker=order.ticker.upper(),
        side=order.direction,
        price=order.price,
        at=order.ts or utcnow(),
        bot=order.bot,
        meta=order.meta,
    )
    entry = await services.publish_trade(recorded.trade_id, recorded.trade)
    return ManualTradeResult(trade=entry)
