"""Domain errors mapped to HTTP: one place decides the status code and the `detail`.

Capture's errors carry their own status (capture/errors.py), so an error the
agent reports over the bus answers exactly as the same error raised here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from trade_analysis.analysis import InvalidCrop, InvalidTitlePattern
from trade_analysis.capture.errors import CaptureError, http_status
from trade_analysis.domain import InvalidPrice
from trade_analysis.storage import UnsupportedImage
from trade_analysis.trading.simulator import TradingError

_STATUS: list[tuple[type[Exception], int]] = [
    (TradingError, 409),
    (UnsupportedImage, 415),
    (InvalidPrice, 422),
    (InvalidCrop, 422),
    (InvalidTitlePattern, 422),
]


def install_error_handlers(app: FastAPI) -> None:
    for error_type, status in _STATUS:
        app.add_exception_handler(error_type, _responder(status))
    app.add_exception_handler(CaptureError, _capture_error)


async def _capture_error(_request: Request, exc: Exception) -> JSONResponse:
    status = http_status(exc) if isinstance(exc, CaptureError) else 500
    return JSONResponse(status_code=status, content={"detail": str(exc)})


def _responder(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def respond(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return respond
