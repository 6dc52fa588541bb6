from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse, StreamingResponse

from trade_analysis.api.deps import ServicesDep, require_key_or_image_token
from trade_analysis.api.schemas import (
    MAX_ROWS,
    TICKER_PATTERN,
    RecordPublic,
    TradeScreenshots,
    UtcTime,
)
from trade_analysis.application import data as application
from trade_analysis.application import screenshots
from trade_analysis.db import export, queries
from trade_analysis.domain import Trend

router = APIRouter(tags=["history"])
files_router = APIRouter(tags=["history"])


@router.get("/latest", response_model=RecordPublic | None, summary="The newest history record")
def latest(services: ServicesDep) -> RecordPublic | None:
    return application.latest(services)


def history_window(
    days: Annotated[float, Query(gt=0, le=36500)] = 7,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    start_ts: UtcTime | None = None,
    end_ts: UtcTime | None = None,
    trend: Trend | None = None,
) -> queries.HistoryFilter:
    """Which records: the filters `/history` and `/history.csv` share."""
    return application.history_window(days, ticker, start_ts, end_ts, trend)


HistoryWindow = Annotated[queries.HistoryFilter, Depends(history_window)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROWS)]


@router.get(
    "/history",
    response_model=list[RecordPublic],
    summary="History records, newest first; X-Total-Count tells how many match",
    description=(
        "`X-Total-Count` is exact when `X-Total-Count-Exact` is `true`; when it is `false` "
        f"at least that many match (the count stops {queries.COUNT_AHEAD:,} rows past the "
        "page), so another "
        "page exists whenever offset + limit < X-Total-Count."
    ),
)
def history(
    services: ServicesDep,
    response: Response,
    window: HistoryWindow,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[RecordPublic]:
    filters = replace(window, limit=limit, offset=offset)
    page, total = application.history_page(services, filters)
    total_headers(response, total)
    return page


def total_headers(response: Response, total: queries.HistoryTotal) -> None:
    """`X-Total-Count` is exact up to `queries.COUNT_AHEAD` rows past the page, a lower
    bound beyond; `X-Total-Count-Exact` says which (docs/performance.md)."""
    response.headers["X-Total-Count"] = str(total.count)
    response.headers["X-Total-Count-Exact"] = "true" if total.exact else "false"


@router.get(
    "/history.csv",
    response_class=StreamingResponse,
    summary="History records as CSV, newest first, with the filters of /history (streamed)",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV with a header row"}},
)
def history_csv(
    services: ServicesDep,
    window: HistoryWindow,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_ROWS, description="at most this many; all if omitted")
    ] = None,
    offset: Offset = 0,
) -> StreamingResponse:
    chunks = export.history_csv(services.database, replace(window, limit=limit, offset=offset))
    return csv_response(chunks, "history.csv")


def csv_response(chunks: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@files_router.get(
    "/uploads/{filename}",
    summary="An uploaded image, by the name /history gave",
    dependencies=[Depends(require_key_or_image_token)],
    response_class=FileResponse,
    responses={404: {"description": "no such upload"}},
)
def upload(filename: str, services: ServicesDep) -> FileResponse:
    path = services.uploads.existing(filename)
    if path is None:
        raise HTTPException(404, "no such upload")
    return FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})


@router.get(
    "/screenshots",
    response_model=TradeScreenshots,
    summary="The frames kept just before and just after a trade, oldest first",
    description="`trade_id`: a trade's id, or the time its trade record was bought or sold "
    "(the original's trade id). An id that names no trade lists none.",
    responses={400: {"description": "trade_id required"}},
)
def trade_screenshots(
    services: ServicesDep,
    trade_id: Annotated[str, Query(max_length=64, description="trade id or trade time")] = "",
) -> TradeScreenshots:
    if not trade_id.strip():
        raise HTTPException(400, "trade_id required")
    return screenshots.trade_screenshots(services, trade_id)


@files_router.get(
    "/trade_screenshots/{path:path}",
    summary="A frame kept with a trade, by the path /screenshots gave",
    dependencies=[Depends(require_key_or_image_token)],
    response_class=FileResponse,
    responses={404: {"description": "file not found"}},
)
def trade_screenshot(path: str, services: ServicesDep) -> FileResponse:
    found = screenshots.screenshot_file(services, path)
    if found is None:
        raise HTTPException(404, "file not found")
    return FileResponse(found, headers={"X-Content-Type-Options": "nosniff"})
