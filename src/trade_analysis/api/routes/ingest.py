from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import BOT_PATTERN, IngestResult, UtcTime
from trade_analysis.domain import InvalidPrice, Trend, parse_price, utcnow
from trade_analysis.storage import sniff_image
from trade_analysis.trading.ledger import ObservationInput
from trade_analysis.trading.writer import PendingUpload, WriterClosed

router = APIRouter(tags=["ingest"])

DEFAULT_INGEST_BOT = "ingest"
# The file and seven fields, with room for a client's extras (ignored).
MAX_FORM_FIELDS = 32


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


Image = tuple[bytes, str]  # the bytes and their file extension


async def _read_image(file: UploadFile, max_bytes: int) -> Image:
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(413, f"upload larger than MAX_UPLOAD_BYTES ({max_bytes} bytes)")
    if not data:
        raise HTTPException(422, "file is empty")
    return data, sniff_image(data[:512])


class IngestForm(BaseModel):
    """The form fields beside the file."""

    name: str | None = Field(None, max_length=255)
    ticker: str | None = Field(None, pattern=r"^\s*[A-Za-z0-9.\-^=]{0,16}\s*$")
    price: str | None = Field(None, max_length=64)
    trend: str | None = Field(None, max_length=16)
    meta: str | None = Field(None, max_length=65536)
    bot: str | None = Field(None, pattern=BOT_PATTERN)
    ts: UtcTime | None = Field(None, description="capture time; now if omitted")


def form_schema() -> dict[str, Any]:
    schema = IngestForm.model_json_schema()
    schema["properties"]["file"] = {
        "type": "string",
        "format": "binary",
        "description": "PNG, JPEG or WebP",
    }
    schema["additionalProperties"] = False  # documented as closed; extras are ignored
    return {
        "required": False,
        "content": {"multipart/form-data": {"schema": schema}},
    }


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])


async def _read_form(request: Request, max_bytes: int) -> tuple[IngestForm, Image | None]:
    """The form fields, validated as one model, and the image's bytes and kind.

    Read by hand rather than as eight `Form()` parameters: FastAPI inspects
    each parameter's annotation again on every request, which cost this, the
    busiest route, more than validating the whole form. It keeps FastAPI's
    meaning: an empty value is an omitted one, as is a file input left empty.
    """
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except StarletteHTTPException:
        raise  # too many files or fields, malformed multipart: 400 with the reason
    except Exception as exc:  # as FastAPI answers a body it cannot read
        raise HTTPException(400, "There was an error parsing the body") from exc
    try:
        fields: dict[str, str] = {}
        for key, value in form.multi_items():
            if key in IngestForm.model_fields and not isinstance(value, str):
                raise _invalid(key, f"{key} must be a text field, not a file")
            if isinstance(value, str) and value:
                fields[key] = value
        file = form.get("file")
        if isinstance(file, str):
            if file:
                raise _invalid("file", "file must be a file upload")
            file = None
        if file is not None and not file.filename and not file.size:
            file = None  # a browser's file input with nothing chosen
        image = await _read_image(file, max_bytes) if file is not None else None
    finally:
        await form.close()
    try:
        return IngestForm.model_validate(fields), image
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


@router.post(
    "/ingest",
    response_model=IngestResult,
    summary="Upload a frame captured elsewhere; with ticker, price and trend it trades",
    responses={413: {"description": "file too large"}, 415: {"description": "not an image"}},
    openapi_extra={"requestBody": form_schema()},
)
async def ingest(services: ServicesDep, request: Request) -> IngestResult:
    form, image = await _read_form(request, services.settings.max_upload_bytes)
    # Validate everything before anything is written.
    observation = ObservationInput(
        bot=form.bot or DEFAULT_INGEST_BOT,
        at=form.ts or utcnow(),
        name=form.name,
        ticker=(form.ticker or "").strip().upper() or None,
        price=_parse_price(form.price),
        trend=_parse_trend(form.trend),
        meta=_parse_meta(form.meta),
        price_text=form.price.strip() if form.price else None,
    )
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
        entry = await services.publish_trade(stored.trade_id, stored.trade)
    return IngestResult(
        record_id=stored.record_id,
        observation_id=stored.observation_id,
        image_url=f"/uploads/{upload.name}" if upload else None,
        ts=observation.at,
        trade=entry,
    )
