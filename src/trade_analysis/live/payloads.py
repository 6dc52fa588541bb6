"""What live clients are sent, shaped from values: no I/O, no services, no database.

Money reaches JSON one way, through the API's models (`Money` serialises as a
JSON number): every payload here is a model dumped with `mode="json"`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from trade_analysis.domain import to_wire
from trade_analysis.live.events import Event, EventType
from trade_analysis.live.snapshots import Snapshot, ThumbnailCache
from trade_analysis.trading.simulator import TradeEvent
from trade_analysis.valuation import OpenPosition, pnl_totals
from trade_analysis.wire import (
    CompactSummary,
    TickerTotals,
    TradeEntry,
    TradeSummary,
    WorkerStatus,
    WorkerView,
    seed_status,
    why,
)

# How many recent trades `hello` and the seed snapshot carry.
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
        quantity=trade.quantity,
        fill_price=trade.filled_at,
        fee=trade.fee,
        why=why(trade.reason.value, trade.side.value, trade.why),
    )


def trade_event(entry: TradeEntry) -> Event:
    return Event.of(entry)


def summary_json(summary: TradeSummary) -> dict[str, Any]:
    """The trade summary (`queries.trade_summary`) as JSON."""
    return summary.model_dump(mode="json")


def compact_summary_event(
    tickers: dict[str, TickerTotals], held: Sequence[OpenPosition], now: datetime
) -> Event:
    """The totals per ticker (`queries.ticker_totals`) and the open positions marked to
    market (`queries.open_positions`) as a `summary` event."""
    realised = sum((state.total_pnl for state in tickers.values()), Decimal(0))
    totals = pnl_totals(realised, held, now)
    return Event.of(CompactSummary(tickers=tickers, **dict(totals)))


def hello_event(
    at: datetime,
    views: Sequence[WorkerView],
    summary: dict[str, Any],
    capture_unavailable: str | None = None,
) -> Event:
    """Everything a (re)connecting client needs to be in sync at once (`summary`: JSON).

    With capture in an agent that is not running, the workers are simply none
    (and `capture` says why): trades and the summary still stream.
    """
    capture: dict[str, Any] = (
        {"available": True}
        if capture_unavailable is None
        else {"available": False, "detail": capture_unavailable}
    )
    return Event(
        EventType.HELLO,
        {
            "timestamp": to_wire(at),
            "workers": [
                view.status.model_dump(mode="json") | {"hwnd": view.hwnd} for view in views
            ],
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


def seed_snapshot(
    at: datetime,
    views: Sequence[WorkerView],
    legacy: WorkerStatus | None,
    summary: dict[str, Any],
    thumbnails: ThumbnailCache,
) -> Snapshot:
    """The seed's `{timestamp, status, workers, trade_summary, screenshot_b64}` (`summary`: JSON).

    `status` is the single (legacy) capture's `get_status()`, idle or running,
    as the original sent it. Thumbnails are attached per client (`Snapshot`),
    each base64-encoded once per version whatever the number of clients.
    """
    workers = []
    for view in views:
        status = seed_status(view.status)
        workers.append(
            {
                "hwnd": view.hwnd,
                "status": status,
                "screenshot_b64": None,
                "last_result": status["last_result"],
            }
        )
    payload = {
        "timestamp": to_wire(at),
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
        legacy_hwnd=legacy.target_window.hwnd if legacy is not None else None,
    )
