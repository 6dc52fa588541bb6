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
        prices = {trade.id: format_price(trade.price).lstrip("$") for trade in trades}
    frames = services.trade_frames.frames(prices)
    return TradeScreenshots(
        trade_id=trade_id,
        screenshots=[_public(frame, prices.get(frame.trade_id)) for frame in frames],
    )


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
