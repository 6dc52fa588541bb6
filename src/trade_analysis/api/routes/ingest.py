from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import BOT_PATTERN, IngestResult, UtcTime
from trade_analysis.domain import InvalidPrice, Trend, parse_price, utcnow
from trade_analysis.live_state import publish_trade
from trade_analysis.storage import sniff_image
from trade_analysis.trading.ledger import ObservationInput
from trade_analysis.trading.writer import PendingUpload, WriterClosed

router = APIRouter(tags=["ingest"])

DEFAULT_INGEST_BOT = "ingest"


def _parse_meta(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"meta is not valid JSON: {exc.msg}") from exc
    if not isinstance(meta, dict):
        raise HTTPException(422, 'meta must be a JSON object, e.g. {"source": "agent-1"}')
    return meta


def _parse_price(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_price(text)
    except InvalidPrice as exc:
        raise HTTPException(422, str(exc)) from exc


def _parse_trend(text: str | None) -> Trend:
    cleaned = (text or "").strip().lower()
    if not cleaned:
        return Trend.NONE
    try:
        return Trend(cleaned)
    except ValueError as exc:
        raise HTTPException(422, f"trend {text!r} must be one of up, down, none") from exc


async def _read_image(file: UploadFile, max_bytes: int) -> tuple[bytes, str]:
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(413, f"upload larger than MAX_UPLOAD_BYTES ({max_bytes} bytes)")
    if not data:
        raise HTTPException(422, "file is empty")
    return data, sniff_image(data[:512])


@router.post(
    "/ingest",
    response_model=IngestResult,
    summary="Upload a frame captured elsewhere; with ticker, price and trend it trades",
    responses={413: {"description": "file too large"}, 415: {"description": "not an image"}},
)
async def ingest(
    services: ServicesDep,
    file: Annotated[UploadFile | None, File(description="PNG, JPEG or WebP")] = None,
    name: Annotated[str | None, Form(max_length=255)] = None,
    ticker: Annotated[str | None, Form(pattern=r"^\s*[A-Za-z0-9.\-^=]{0,16}\s*$")] = None,
    price: Annotated[str | None, Form(max_length=64)] = None,
    trend: Annotated[str | None, Form(max_length=16)] = None,
    meta: Annotated[str | None, Form(max_length=65536)] = None,
    bot: Annotated[str | None, Form(pattern=BOT_PATTERN)] = None,
    ts: Annotated[UtcTime | None, Form(description="capture time; now if omitted")] = None,
) -> IngestResult:
    # Validate everything before anything is written.
    observation = ObservationInput(
        bot=bot or DEFAULT_INGEST_BOT,
        at=ts or utcnow(),
        name=name,
        ticker=(ticker or "").strip().upper() or None,
        price=_parse_price(price),
        trend=_parse_trend(trend),
        meta=_parse_meta(meta),
    )
    image = await _read_image(file, services.settings.max_upload_bytes) if file else None
    upload = None
    if image is not None:
        data, extension = image
        upload = PendingUpload(services.uploads.new_name(extension), data)
    try:
        pending = services.writer.submit(observation, as_history=True, upload=upload)
    except WriterClosed as exc:
        raise HTTPException(503, "the service is shutting down; try again") from exc
    stored = await asyncio.wrap_future(pending)
    entry = None
    if stored.trade is not None and stored.trade_id is not None:
        entry = await publish_trade(services, stored.trade_id, stored.trade)
    return IngestResult(
        record_id=stored.record_id,
        observation_id=stored.observation_id,
        image_url=f"/uploads/{upload.name}" if upload else None,
        trade=entry,
    )
