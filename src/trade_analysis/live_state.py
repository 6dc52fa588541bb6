"""What live clients are told: trades after they commit, the hello state, the seed snapshot."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool

from trade_analysis.api.schemas import TradeEntry, TradeSummary
from trade_analysis.capture.agent import AgentUnavailable
from trade_analysis.capture.worker import seed_status
from trade_analysis.db import queries
from trade_analysis.db.session import Database
from trade_analysis.domain import to_wire, utcnow
from trade_analysis.live import Event, EventType
from trade_analysis.services import Services
from trade_analysis.snapshots import Snapshot, ThumbnailCache
from trade_analysis.trading.simulator import TradeEvent

SNAPSHOT_TRADES = 50


def trade_entry(trade_id: int, trade: TradeEvent) -> TradeEntry:
    return TradeEntry(
        id=trade_id,
        bot=trade.bot,
        ticker=trade.ticker,
        direction=trade.side,
        price=trade.price,
        profit=trade.profit,
        win_reason=trade.reason.value,
        ts=to_wire(trade.at),
    )


def summary_payload(database: Database, recent_trades: int = 0) -> dict[str, Any]:
    """The trade summary as JSON; blocking (a database read)."""
    with database.reading() as session:
        summary = queries.trade_summary(session, recent_trades)
    return TradeSummary.model_validate(summary).model_dump(mode="json")


def compact_summary(database: Database) -> dict[str, Any]:
    """Totals per ticker without the trade lists: small enough to send after every trade."""
    with database.reading() as session:
        tickers = queries.ticker_totals(session)
    total = sum((state["total_pnl"] for state in tickers.values()), Decimal(0))
    compact: dict[str, Any] = _json_safe({"total_pnl_all_tickers": total, "tickers": tickers})
    return compact


def _json_safe(value: Any) -> Any:
    """Money as JSON numbers, as everywhere on the wire."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


def trade_event(entry: TradeEntry) -> Event:
    return Event(EventType.TRADE, entry.model_dump(mode="json"))


def trade_events(database: Database, trade_id: int, trade: TradeEvent) -> list[Event]:
    """The trade and the new totals; blocking (reads the totals). For processes without a hub."""
    entry = trade_entry(trade_id, trade)
    return [trade_event(entry), Event(EventType.SUMMARY, compact_summary(database))]


async def publish_trade(services: Services, trade_id: int, trade: TradeEvent) -> TradeEntry:
    """Stream a committed trade; the summary follows (coalesced with other trades')."""
    entry = trade_entry(trade_id, trade)
    await services.publish(trade_event(entry))
    if services.summaries is not None:
        services.summaries.poke()
    return entry


async def hello_event(services: Services) -> Event:
    """Everything a (re)connecting client needs to be in sync at once.

    With capture in an agent that is not running, the workers are simply none
    (and `capture` says why): trades and the summary still stream.
    """
    capture: dict[str, Any] = {"available": True}
    try:
        views = await services.capture.workers()
    except AgentUnavailable as exc:
        views, capture = [], {"available": False, "detail": str(exc)}
    summary = await run_in_threadpool(summary_payload, services.database, SNAPSHOT_TRADES)
    return Event(
        EventType.HELLO,
        {
            "timestamp": to_wire(utcnow()),
            "workers": [view.status | {"hwnd": view.hwnd} for view in views],
            # The newest thumbnail of each window: an unchanged window sends no `frame`.
            "frames": {
                str(view.hwnd): base64.b64encode(view.thumbnail_jpeg).decode()
                for view in views
                if view.thumbnail_jpeg
            },
            "summary": summary,
            "capture": capture,
        },
    )


async def seed_snapshot(services: Services, thumbnails: ThumbnailCache) -> Snapshot:
    """The seed's `{timestamp, status, workers, trade_summary, screenshot_b64}`.

    `status` is the single (legacy) capture's `get_status()`, idle or running,
    as the original sent it. Thumbnails are attached per client (`Snapshot`).
    """
    try:
        views = await services.capture.workers()
        legacy = await services.capture.legacy_status()
    except AgentUnavailable:
        views, legacy = [], None
    workers = [
        {
            "hwnd": view.hwnd,
            "status": seed_status(view.status),
            "screenshot_b64": None,
            "last_result": view.last_result or {},
        }
        for view in views
    ]
    summary = await run_in_threadpool(summary_payload, services.database, SNAPSHOT_TRADES)
    payload = {
        "timestamp": to_wire(utcnow()),
        "status": seed_status(legacy),
        "workers": workers,
        "trade_summary": summary,
        "screenshot_b64": None,
    }
    return Snapshot(
        payload,
        {
            view.hwnd: thumbnails.encoded(view.hwnd, view.thumbnail_version, view.thumbnail_jpeg)
            for view in views
            if view.thumbnail_jpeg is not None
        },
        legacy_hwnd=legacy["target_window"]["hwnd"] if legacy else None,
    )
