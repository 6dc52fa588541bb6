"""Recorded data: the newest record and pages of history."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trade_analysis.application.errors import InvalidRequest
from trade_analysis.db import models, queries
from trade_analysis.domain import Trend, utcnow
from trade_analysis.storage import upload_url
from trade_analysis.wire import RecordPublic

if TYPE_CHECKING:  # the command line reads `history_window` without the services
    from trade_analysis.services import Services


def record_public(record: models.Record) -> RecordPublic:
    public = RecordPublic.model_validate(record)
    public.image_url = upload_url(record.image_path) or public.image_url
    return public


def latest(services: Services) -> RecordPublic | None:
    """The newest history record, if any."""
    with services.database.reading() as session:
        record = queries.latest_record(session)
        return record_public(record) if record else None


def history_window(
    days: float,
    ticker: str | None,
    start_ts: datetime | None,
    end_ts: datetime | None,
    trend: Trend | None,
) -> queries.HistoryFilter:
    """Which records: from `start_ts` (else `days` ago) to `end_ts`, of a ticker or trend."""
    since = start_ts or utcnow() - timedelta(days=days)
    if end_ts is not None and end_ts < since:
        raise InvalidRequest("end_ts is before the start of the window (start_ts or days)")
    return queries.HistoryFilter(
        since=since,
        until=end_ts,
        ticker=ticker.upper() if ticker else None,
        trend=trend.value if trend else None,
    )


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
    services: Services, filters: queries.HistoryFilter
) -> tuple[list[RecordPublic], queries.HistoryTotal]:
    """One page of history, newest first, and how many records match (bounded)."""
    with services.database.reading() as session:
        rows, total = queries.history(session, filters)
        return [record_public(row) for row in rows], total


def bot_names(services: Services, keys: set[str]) -> dict[str, str | None]:
    """The names of these bots (the seed's `bot_name`), one read."""
    if not keys:
        return {}
    with services.database.reading() as session:
        return queries.bot_names(session, keys)
