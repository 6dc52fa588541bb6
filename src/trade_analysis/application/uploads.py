"""Uploads: a frame captured elsewhere, read as a capture is, stored and traded on.

The route parses the request into an `Upload`; this reads the image when the
signal is not all given (what was sent wins over what was read), hands the
observation and the file to the writer, and streams the trade it causes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import PureWindowsPath
from typing import Any

from trade_analysis.analysis import AnalysisSettings, Crop, Observation
from trade_analysis.analysis.title import title_stem
from trade_analysis.application.charts import read_chart
from trade_analysis.domain import Trend
from trade_analysis.live.payloads import trade_entry
from trade_analysis.services import Services
from trade_analysis.storage import upload_url
from trade_analysis.trade_frames import SeenFrame
from trade_analysis.trading.binding import new_bot_key
from trade_analysis.trading.ledger import ObservationInput
from trade_analysis.trading.writer import PendingUpload
from trade_analysis.wire import ChartReading, IngestResult

Image = tuple[bytes, str]  # the bytes and their file extension


@dataclass(frozen=True)
class Upload:
    """An upload as parsed: each field valid on its own; the signal may be incomplete when
    there is an image to read it from."""

    bot: str
    at: datetime
    name: str | None
    ticker: str | None
    price: Decimal | None
    price_text: str | None
    trend: Trend | None
    meta: dict[str, Any]
    crop: Crop
    image: Image | None
    idempotency_key: str | None
    # The sha256 of the request's fields and image, kept with its key (see `request_hash`).
    request_hash: str | None = None


async def store_upload(
    services: Services, parse: Callable[[], Awaitable[Upload]]
) -> tuple[IngestResult, bool]:
    """Read (`parse` the request), validate and store an upload; the answer, and whether it
    was a replay. Raises the writer's `WriterClosed` / `WriterFull` when it cannot take it."""
    # The writer may wait a moment for this upload, to store it with others in flight:
    # it is told before the request is read.
    with services.writer.arrival() as arrival:
        upload = await parse()
        observation, file, read = await _observation_of(services, upload)
        pending = services.writer.submit(observation, as_history=True, upload=file, arrival=arrival)
    stored = await asyncio.wrap_future(pending)
    entry = None
    if stored.trade is not None and stored.trade_id is not None:
        if stored.replayed:  # streamed when it was first stored
            entry = trade_entry(stored.trade_id, stored.trade)
        else:
            entry = await services.publish_trade(stored.trade_id, stored.trade)
    elif observation.price is not None and not stored.replayed:
        services.feed.prices_moved()  # an open position's mark may have moved
    if not stored.replayed and stored.image_path is not None and file is not None:
        traded = (
            (stored.trade_id, stored.trade.side.value) if stored.trade_id and stored.trade else None
        )
        await asyncio.to_thread(
            _keep_frame, services, upload.bot, observation.at, stored.image_path, file, traded
        )
    result = IngestResult(
        record_id=stored.record_id,
        observation_id=stored.observation_id,
        image_url=upload_url(stored.image_path),
        ts=stored.at or observation.at,
        trade=entry,
        indicator=stored.indicator,
        reading=_reading(read) if read is not None else None,
        bot=upload.bot,
        ticker=observation.ticker,
        price=observation.price,
        trend=observation.trend,
        confidence=observation.confidence,
    )
    return result, stored.replayed


def _keep_frame(
    services: Services,
    bot: str,
    at: datetime,
    image_path: str,
    file: PendingUpload,
    traded: tuple[int, str] | None,
) -> None:
    """The upload's image into its bot's ring of recent frames (by path: the stored file is
    copied only if a trade keeps it), and a trade's frames kept around it."""
    source = services.settings.data_dir / image_path
    extension = file.name.rsplit(".", 1)[-1]
    services.trade_frames.seen(bot, SeenFrame(at, extension, source=source))
    if traded is not None:
        services.trade_frames.traded(bot, *traded)


def source_bot(filename: str | None) -> str | None:
    """The bot of an upload sent without `bot`: its file name's stem, as a window's title
    binds (`AAPL_1m_20260723_193000.png` and `AAPL_1m_20260723_193001.png` are one source,
    `MSFT_5m.png` another). None without a usable name."""
    if not filename:
        return None
    stem = title_stem(PureWindowsPath(filename).stem.replace("_", " "))
    return new_bot_key(stem, ()) if stem.strip() else None


async def _observation_of(
    services: Services, upload: Upload
) -> tuple[ObservationInput, PendingUpload | None, Observation | None]:
    """The observation an upload makes, the file to write and what was read from the image."""
    ticker, price, trend, meta = upload.ticker, upload.price, upload.trend, upload.meta
    read = None
    if upload.image is not None and None in (ticker, price, trend):
        read = await asyncio.to_thread(
            _read_image, services, upload.image[0], upload.name or "", upload.crop, upload.bot
        )
    confidence = None
    if read is not None:
        # What was sent wins over what was read.
        ticker, price = ticker or read.ticker, price if price is not None else read.price
        if trend is None:
            trend, confidence = read.trend, read.confidence
        meta = {**meta, "reading": _reading(read).model_dump(mode="json")}
    observation = ObservationInput(
        bot=upload.bot,
        at=upload.at,
        name=upload.name,
        ticker=ticker,
        price=price,
        trend=trend or Trend.NONE,
        confidence=confidence,
        meta=meta,
        idempotency_key=upload.idempotency_key,
        request_hash=upload.request_hash,
        price_text=upload.price_text,
    )
    file = None
    if upload.image is not None:
        data, extension = upload.image
        file = PendingUpload(services.uploads.new_name(extension), data)
    return observation, file, read


def _read_image(services: Services, data: bytes, title: str, crop: Crop, bot: str) -> Observation:
    """The same reading a capture gets (title, chart, OCR per the bot's setting); in a thread."""
    ocr = services.ledger.bot_settings(bot).ocr is True
    return read_chart(data, title, AnalysisSettings(crop=crop, ocr=ocr))


def _reading(observation: Observation) -> ChartReading:
    return ChartReading.model_validate(
        {
            "kind": observation.kind,
            "trend": observation.trend,
            "confidence": observation.confidence,
            "reason": observation.reason,
        }
    )
