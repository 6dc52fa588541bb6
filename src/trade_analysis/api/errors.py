"""Domain errors mapped to HTTP: one place decides the status code and the `detail`.

Capture's errors carry their own status (capture/errors.py), so an error the
agent reports over the bus answers exactly as the same error raised here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from trade_analysis.analysis import InvalidCrop, InvalidTitlePattern
from trade_analysis.application.errors import InvalidField, InvalidRequest
from trade_analysis.capture.errors import CaptureError, http_status
from trade_analysis.domain import InvalidPrice
from trade_analysis.storage import UnsupportedImage
from trade_analysis.trading.fills import OrderTooSmall
from trade_analysis.trading.ledger import IdempotencyKeyReused, UnknownBot
from trade_analysis.trading.simulator import TradingError
from trade_analysis.trading.writer import WriterClosed, WriterFull

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[Exception], int]] = [
    (TradingError, 409),
    (UnknownBot, 404),
    (InvalidRequest, 422),
    (IdempotencyKeyReused, 422),
    (UnsupportedImage, 415),
    (InvalidPrice, 422),
    (OrderTooSmall, 422),
    (InvalidCrop, 422),
    (InvalidTitlePattern, 422),
]


# A 503 clients should retry: the database is busy or gone for now, or the queue is full.
RETRY_SOON = {"Retry-After": "1"}


def install_error_handlers(app: FastAPI) -> None:
    for error_type, status in _STATUS:
        app.add_exception_handler(error_type, _responder(status))
    app.add_exception_handler(CaptureError, _capture_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InvalidField, _invalid_field)
    app.add_exception_handler(WriterFull, _writer_busy)
    app.add_exception_handler(WriterClosed, _writer_busy)
    # Locked, timed out or unreachable (the driver's own message may quote SQL: not sent).
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, except that an input JSON cannot carry (NaN, Infinity) is left out
    rather than failing the error response itself with a 500."""
    errors: Any = jsonable_encoder(exc.errors() if isinstance(exc, RequestValidationError) else [])
    try:
        json.dumps(errors, allow_nan=False)
    except ValueError:
        errors = [
            {key: value for key, value in error.items() if key not in {"input", "ctx"}}
            for error in errors
        ]
    return JSONResponse(status_code=422, content={"detail": errors})


async def _invalid_field(request: Request, exc: Exception) -> JSONResponse:
    """A field found wrong once read: the same 422 as one found wrong while parsing."""
    field = exc.field if isinstance(exc, InvalidField) else "body"
    error = {"type": "value_error", "loc": ("body", field), "msg": str(exc)}
    return await _invalid_request(request, RequestValidationError([error]))


async def _writer_busy(_request: Request, exc: Exception) -> JSONResponse:
    """The writer cannot take more now (answered at once: nothing was written, nothing
    is held), or the service is shutting down."""
    detail = (
        "the service is shutting down; try again" if isinstance(exc, WriterClosed) else str(exc)
    )
    return JSONResponse(status_code=503, content={"detail": detail}, headers=RETRY_SOON)


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", exc)
    return JSONResponse(
        status_code=503,
        content={"detail": "the database is busy or unreachable; try again shortly"},
        headers=RETRY_SOON,
    )


async def _capture_error(_request: Request, exc: Exception) -> JSONResponse:
    status = http_status(exc) if isinstance(exc, CaptureError) else 500
    return JSONResponse(status_code=status, content={"detail": str(exc)})


def _responder(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def respond(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return respond
