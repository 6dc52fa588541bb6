"""Trade screenshots: the frames kept before and after each trade, listed and served."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from trade_analysis.application.errors import InvalidRequest
from trade_analysis.db import models, queries
from trade_analysis.domain import format_price, to_wire
from trade_analysis.services import Services
from trade_analysis.trade_frames import TradeFrame
from trade_analysis.wire import TradeScreenshot, TradeScreenshots

URL_PREFIX = "/trade_screenshots/"


def trade_screenshots(services: Services, trade_id: str) -> TradeScreenshots:
    """The frames of a trade by its id, or of the trade record bought or sold at a time
    (the original's `trade_id`); none for an id that names no trade."""
    wanted = trade_id.strip()
    if not wanted:
        raise InvalidRequest("trade_id required")
    with services.database.reading() as session:
        trades = _trades(session, wanted)
        prices = {trade.id: _price_text(trade) for trade in trades}
    frames = services.trade_frames.frames(prices)
    return TradeScreenshots(
        trade_id=trade_id,
        screenshots=[_public(frame, prices.get(frame.trade_id)) for frame in frames],
    )


def of_records(services: Services, record_ids: list[int]) -> dict[int, list[TradeScreenshot]]:
    """The frames kept with the trades of these trade records, by record."""
    if not record_ids:
        return {}
    with services.database.reading() as session:
        trades = queries.trades_of_records(session, record_ids)
    records = {trade.id: trade.record_id for trade in trades}
    prices = {trade.id: _price_text(trade) for trade in trades}
    found: dict[int, list[TradeScreenshot]] = {}
    for frame in services.trade_frames.frames(prices):
        record = records[frame.trade_id]
        if record is not None:
            found.setdefault(record, []).append(_public(frame, prices[frame.trade_id]))
    return found


def _price_text(trade: models.Trade) -> str:
    return format_price(trade.price).lstrip("$")


def _trades(session: Session, wanted: str) -> list[models.Trade]:
    if wanted.isdigit():
        return queries.trades_by_id(session, [int(wanted)]) if len(wanted) <= 18 else []
    try:
        at = datetime.fromisoformat(wanted.replace("Z", "+00:00"))
    except ValueError:
        return []
    if at.tzinfo is None:
        return []
    return queries.trades_of_record_at(session, at)


def _public(frame: TradeFrame, price: str | None) -> TradeScreenshot:
    return TradeScreenshot(
        filename=frame.filename,
        path=frame.path,
        url=URL_PREFIX + frame.path,
        ts=frame.stamp,
        at=to_wire(frame.at),
        price=price,
        type="buy" if frame.side == "buy" else "sell",
        when="before" if frame.when == "before" else "after",
        trade_id=frame.trade_id,
    )


def screenshot_file(services: Services, path: str) -> Path | None:
    """The file a request names under /trade_screenshots/, if it is one the service kept."""
    return services.trade_frames.resolve(path)
