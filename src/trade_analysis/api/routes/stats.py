from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import BOT_PATTERN, TICKER_PATTERN, StatsPublic, UtcTime
from trade_analysis.application import statistics as application
from trade_analysis.trading.statistics import Period

router = APIRouter(tags=["stats"])


@router.get(
    "/stats",
    response_model=StatsPublic,
    summary="P&L by period, win rate, drawdown and more, per bot, per ticker and overall; "
    "each bot's signal skill against always betting the majority direction",
    description="A round trip (a buy and its sell) counts in the window its sell falls in. "
    "docs/trading.md says what each figure means.",
)
def stats(
    services: ServicesDep,
    bot: Annotated[
        str | None, Query(pattern=BOT_PATTERN, description="one bot (its key or window)")
    ] = None,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    since: Annotated[UtcTime | None, Query(alias="from", description="window start")] = None,
    until: Annotated[UtcTime | None, Query(alias="to", description="window end")] = None,
    period: Annotated[Period, Query(description="P&L per day, week or month")] = Period.DAY,
    horizon: Annotated[
        int, Query(ge=1, le=1000, description="readings a move may take to come")
    ] = application.DEFAULT_HORIZON,
) -> StatsPublic:
    query = application.StatsQuery(
        bot=bot,
        ticker=ticker.upper() if ticker else None,
        since=since,
        until=until,
        period=period,
        horizon=horizon,
    )
    return application.stats(services, query)
