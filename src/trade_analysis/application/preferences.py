"""Service-wide preferences: the time mode (how days are cut) and the signal source.

Kept in `app_settings`, one row each, so every API process and a restart see
the same. An unknown or missing value reads as the default.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from starlette.concurrency import run_in_threadpool

from trade_analysis.application.errors import InvalidRequest
from trade_analysis.db import models
from trade_analysis.domain import utcnow
from trade_analysis.services import Services


class TimeMode(StrEnum):
    LOCAL = "local"
    UTC = "utc"


class SignalSource(StrEnum):
    SCREENSHOT = "screenshot"
    IBKR = "ibkr"


DEFAULT_TIME_MODE = TimeMode.LOCAL
DEFAULT_SIGNAL_SOURCE = SignalSource.SCREENSHOT
# What this service can feed the rules from: screen readings only (no broker here).
AVAILABLE_SIGNAL_SOURCES = (SignalSource.SCREENSHOT,)
TIME_MODE = "time_mode"
SIGNAL_SOURCE = "signal_source"


class SourceUnavailable(InvalidRequest):
    """A signal source this service does not have (a broker feed)."""


def _read(services: Services, key: str) -> Any:
    with services.database.reading() as session:
        row = session.get(models.AppSetting, key)
        return row.value if row is not None else None


def _write(services: Services, key: str, value: str) -> None:
    with services.database.session() as session:
        row = session.get(models.AppSetting, key)
        if row is None:
            session.add(models.AppSetting(key=key, value=value, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()


def time_mode(services: Services) -> TimeMode:
    saved = _read(services, TIME_MODE)
    return TimeMode(saved) if saved in set(TimeMode) else DEFAULT_TIME_MODE


async def set_time_mode(services: Services, mode: str) -> TimeMode:
    """As the original: `utc` is UTC, anything else is local time."""
    chosen = TimeMode.UTC if mode.strip().lower() == TimeMode.UTC else TimeMode.LOCAL
    await run_in_threadpool(_write, services, TIME_MODE, chosen.value)
    return chosen


def signal_source(services: Services) -> SignalSource:
    saved = _read(services, SIGNAL_SOURCE)
    return SignalSource(saved) if saved in set(AVAILABLE_SIGNAL_SOURCES) else DEFAULT_SIGNAL_SOURCE


async def set_signal_source(services: Services, source: str) -> SignalSource:
    """Only `screenshot` is available here; `ibkr` is refused as unavailable."""
    wanted = source.strip().lower()
    if wanted not in set(SignalSource):
        raise InvalidRequest("source must be 'screenshot' or 'ibkr'")
    chosen = SignalSource(wanted)
    if chosen not in AVAILABLE_SIGNAL_SOURCES:
        raise SourceUnavailable(
            "signal source 'ibkr' is not available: this service reads signals from "
            "screenshots only (no broker connection)"
        )
    await run_in_threadpool(_write, services, SIGNAL_SOURCE, chosen.value)
    return chosen


def zone(mode: TimeMode) -> tzinfo:
    """The clock days are cut by: UTC, or the server's own."""
    if mode is TimeMode.UTC:
        return UTC
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def day_bounds(day: date, mode: TimeMode) -> tuple[datetime, datetime]:
    """The first and last instant of `day` in the time mode, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=zone(mode)).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone(mode)).astimezone(UTC)
    return start, end - timedelta(microseconds=1)


def days_since(days: int, mode: TimeMode) -> datetime:
    """Midnight, in the time mode, of the first of the last `days` days (today counts)."""
    today = utcnow().astimezone(zone(mode)).date()
    return day_bounds(today - timedelta(days=max(1, days) - 1), mode)[0]
