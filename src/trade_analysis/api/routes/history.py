from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse, StreamingResponse

from trade_analysis.api.deps import ServicesDep, require_api_key_or_token
from trade_analysis.api.schemas import TICKER_PATTERN, RecordPublic, UtcTime
from trade_analysis.db import export, models, queries
from trade_analysis.domain import Trend, utcnow
from trade_analysis.services import Services
from trade_analysis.storage import upload_url

router = APIRouter(tags=["history"])
files_router = APIRouter(tags=["history"])


def record_public(record: models.Record) -> RecordPublic:
    public = RecordPublic.model_validate(record)
    public.image_url = upload_url(record.image_path) or public.image_url
    return public


@router.get("/latest", response_model=RecordPublic | None, summary="The newest history record")
def latest(services: ServicesDep) -> RecordPublic | None:
    with services.database.reading() as session:
        record = queries.latest_record(session)
        return record_public(record) if record else None


def history_window(
    days: Annotated[float, Query(gt=0, le=36500)] = 7,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    start_ts: UtcTime | None = None,
    end_ts: UtcTime | None = None,
    trend: Trend | None = None,
) -> queries.HistoryFilter:
    """Which records: the filters `/history` and `/history.csv` share."""
    since = start_ts or utcnow() - timedelta(days=days)
    if end_ts is not None and end_ts < since:
        raise HTTPException(422, "end_ts is before the start of the window (start_ts or days)")
    return queries.HistoryFilter(
        since=since,
        until=end_ts,
        ticker=ticker.upper() if ticker else None,
        trend=trend.value if trend else None,
    )


HistoryWindow = Annotated[queries.HistoryFilter, Depends(history_window)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


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
    return history_page(services, response, filters)


def history_filter(
    days: float,
    ticker: str | None,
    start_ts: datetime | None,
    end_ts: datetime | None,
    trend: Trend | None,
    limit: int,
    offset: int,
) -> queries.HistoryFilter:
    """The filters of `/history` from plain values (the seed face's query)."""
    window = history_window(days, ticker, start_ts, end_ts, trend)
    return replace(window, limit=limit, offset=offset)


def history_page(
    services: Services, response: Response, filters: queries.HistoryFilter
) -> list[RecordPublic]:
    """One page of history, newest first; `X-Total-Count` says how many match in all.

    The count is exact up to `queries.COUNT_AHEAD` rows past the page, a lower bound
    beyond; `X-Total-Count-Exact` says which (docs/performance.md).
    """
    with services.database.reading() as session:
        rows, total = queries.history(session, filters)
        response.headers["X-Total-Count"] = str(total.count)
        response.headers["X-Total-Count-Exact"] = "true" if total.exact else "false"
        return [record_public(row) for row in rows]


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
        int | None, Query(ge=1, description="at most this many; all if omitted")
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
    dependencies=[Depends(require_api_key_or_token)],
    response_class=FileResponse,
    responses={404: {"description": "no such upload"}},
)
def upload(filename: str, services: ServicesDep) -> FileResponse:
    path = services.uploads.existing(filename)
    if path is None:
        raise HTTPException(404, "no such upload")
    return FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})
