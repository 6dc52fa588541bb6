from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from trade_analysis.analysis import Crop, InvalidCrop
from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import (
    BOT_PATTERN,
    NO_NUL_PATTERN,
    ClientTime,
    IngestResult,
    check_storable_json,
)
from trade_analysis.application import uploads
from trade_analysis.application.uploads import Image, Upload
from trade_analysis.domain import InvalidPrice, Trend, parse_price, utcnow
from trade_analysis.services import Services
from trade_analysis.storage import (
    ImageTooLarge,
    IncompleteImage,
    UnreadableSize,
    check_complete,
    check_pixels,
    sniff_image,
)

router = APIRouter(tags=["ingest"])

DEFAULT_INGEST_BOT = "ingest"
# The file and seven fields, with room for a client's extras (ignored).
MAX_FORM_FIELDS = 32
# Printable ASCII without spaces, as UUIDs and most clients' keys are.
_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,128}")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_meta(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        meta = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"meta is not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise HTTPException(422, "meta nests too deeply") from exc
    except ValueError as exc:  # NaN, Infinity, an integer beyond Python's digit limit
        raise HTTPException(422, f"meta cannot be stored: {exc}") from exc
    if not isinstance(meta, dict):
        raise HTTPException(422, 'meta must be a JSON object, e.g. {"source": "agent-1"}')
    try:
        check_storable_json(meta)
    except ValueError as exc:
        raise HTTPException(422, f"meta cannot be stored: it {exc}") from exc
    return meta


def _parse_price(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_price(text)
    except InvalidPrice as exc:
        raise HTTPException(422, str(exc)) from exc


def _parse_trend(text: str | None) -> Trend | None:
    cleaned = (text or "").strip().lower()
    if not cleaned:
        return None
    try:
        return Trend(cleaned)
    except ValueError as exc:
        raise HTTPException(422, f"trend {text!r} must be one of up, down, none") from exc


async def _read_image(file: UploadFile, max_bytes: int, max_pixels: int) -> Image:
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(413, f"upload larger than MAX_UPLOAD_BYTES ({max_bytes} bytes)")
    if not data:
        raise _invalid("file", "file is empty")
    extension = sniff_image(data[:512])
    try:
        check_complete(data, extension)
        # Whether it is read here or only stored and shown, it is decoded somewhere.
        check_pixels(data, extension, max_pixels)
    except ImageTooLarge as exc:
        raise HTTPException(413, f"file: {exc}") from exc
    except (IncompleteImage, UnreadableSize) as exc:
        raise _invalid("file", f"file {exc}") from exc
    return data, extension


class IngestForm(BaseModel):
    """The form fields beside the file."""

    name: str | None = Field(None, max_length=255, pattern=NO_NUL_PATTERN)
    ticker: str | None = Field(None, pattern=r"^\s*[A-Za-z0-9.\-^=]{0,16}\s*$")
    price: str | None = Field(None, max_length=64)
    trend: str | None = Field(None, max_length=16)
    meta: str | None = Field(None, max_length=65536)
    bot: str | None = Field(None, pattern=BOT_PATTERN)
    ts: ClientTime | None = Field(None, description="capture time; now if omitted")
    crop: str | None = Field(
        None,
        max_length=64,
        description="left,right,top,bottom fractions cut before the chart is read "
        "(default 0,0.16,0,0)",
    )


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key is stored and traded once, and answered as "
    "the first was (with `Idempotent-Replayed: true`); the key sent with a different "
    "request (other fields or image) is a 422",
    "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"},
}


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


def _idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header, if sent (read here: a `Header()` parameter costs more)."""
    key = request.headers.get("idempotency-key")
    if key is not None and _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise RequestValidationError(
            [
                {
                    "type": "string_pattern_mismatch",
                    "loc": ("header", "idempotency-key"),
                    "msg": "Idempotency-Key must be 1 to 128 printable ASCII characters, no spaces",
                }
            ]
        )
    return key


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])


SIGNAL_FIELDS = ("ticker", "price", "trend")


def _require_something(form: IngestForm, image: Image | None) -> None:
    """An image, or without one a whole signal: anything less would store an empty record."""
    if image is not None:
        return
    missing = [name for name in SIGNAL_FIELDS if getattr(form, name) is None]
    if not missing:
        return
    message = "without a file (a PNG, JPEG or WebP image), ticker, price and trend are required"
    errors = [{"type": "missing", "loc": ("body", name), "msg": message} for name in missing]
    if len(missing) == len(SIGNAL_FIELDS):
        errors.insert(0, {"type": "missing", "loc": ("body", "file"), "msg": message})
    raise RequestValidationError(errors)


async def _read_form(
    request: Request, max_bytes: int, max_pixels: int
) -> tuple[IngestForm, Image | None, str | None]:
    """The form fields, validated as one model, the image's bytes and kind, and its file name.

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
        image = await _read_image(file, max_bytes, max_pixels) if file is not None else None
        filename = file.filename if file is not None else None
    finally:
        await form.close()
    try:
        return IngestForm.model_validate(fields), image, filename
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


@router.post(
    "/ingest",
    response_model=IngestResult,
    summary="Upload a frame captured elsewhere; with ticker, price and trend it trades",
    responses={
        413: {"description": "file too large, or declaring more than MAX_UPLOAD_PIXELS"},
        422: {"description": "a field is invalid, or Idempotency-Key came with another request"},
        415: {"description": "not an image"},
        503: {"description": "the database is behind, or shutting down; see Retry-After"},
    },
    openapi_extra={"requestBody": form_schema(), "parameters": [IDEMPOTENCY_HEADER]},
)
async def ingest(services: ServicesDep, request: Request) -> Response:
    result, replayed = await uploads.store_upload(
        services, partial(parse_upload, services, request)
    )
    return json_answer(result, replayed)


def json_answer(result: BaseModel, replayed: bool) -> Response:
    """The answer to an upload. A response of our own: FastAPI would validate the model it
    was just built from again."""
    return Response(
        result.model_dump_json(),
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )


async def parse_upload(services: Services, request: Request) -> Upload:
    """The upload a request makes, every field validated before anything is written."""
    settings = services.settings
    form, image, filename = await _read_form(
        request, settings.max_upload_bytes, settings.max_upload_pixels
    )
    key = _idempotency_key(request)
    upload = Upload(
        # Like windows, each source its own bot: named by `bot`, else by the file's name.
        bot=form.bot or uploads.source_bot(filename) or DEFAULT_INGEST_BOT,
        at=form.ts or utcnow(),
        name=form.name,
        ticker=(form.ticker or "").strip().upper() or None,
        price=_parse_price(form.price),
        price_text=form.price.strip() if form.price else None,
        trend=_parse_trend(form.trend),
        meta=_parse_meta(form.meta),
        crop=_parse_crop(form.crop),
        image=image,
        idempotency_key=key,
        request_hash=_request_hash(form, image) if key is not None else None,
    )
    _require_something(form, image)
    return upload


def _request_hash(form: IngestForm, image: Image | None) -> str:
    """A digest of what the upload asks for (its fields as sent, and its image's bytes),
    kept with its `Idempotency-Key`: a retry must be the same request. An omitted `ts`
    stays omitted here, so a retry is not told apart by the time it arrives."""
    digest = hashlib.sha256(form.model_dump_json().encode())
    if image is not None:
        # The JSON above holds no raw newline: the bytes after it are the image's alone.
        digest.update(b"\n")
        digest.update(image[0])
    return digest.hexdigest()


def _parse_crop(text: str | None) -> Crop:
    if text is None:
        return Crop()
    try:
        return Crop.from_text(text)
    except InvalidCrop as exc:
        raise _invalid("crop", str(exc)) from None
