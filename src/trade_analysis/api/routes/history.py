from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse

from trade_analysis.api.deps import ServicesDep, require_api_key_or_token
from trade_analysis.api.schemas import TICKER_PATTERN, RecordPublic, UtcTime
from trade_analysis.db import models, queries
from trade_analysis.domain import Trend, utcnow
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


@router.get(
    "/history",
    response_model=list[RecordPublic],
    summary="History records, newest first; X-Total-Count tells how many match",
)
def history(
    services: ServicesDep,
    response: Response,
    days: Annotated[float, Query(gt=0, le=36500)] = 7,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    start_ts: UtcTime | None = None,
    end_ts: UtcTime | None = None,
    trend: Trend | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[RecordPublic]:
    since = start_ts or utcnow() - timedelta(days=days)
    until = end_ts
    if until is not None and until < since:
        raise HTTPException(422, "end_ts is before the start of the window (start_ts or days)")
    filters = queries.HistoryFilter(
        since=since,
        until=until,
        ticker=ticker.upper() if ticker else None,
        trend=trend.value if trend else None,
        limit=limit,
        offset=offset,
    )
    with services.database.reading() as session:
        rows, total = queries.history(session, filters)
        response.headers["X-Total-Count"] = str(total)
        return [record_public(row) for row in rows]


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
