"""Domain errors mapped to HTTP: one place decides the status code and the `detail`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from trade_analysis.domain import InvalidPrice
from trade_analysis.storage import UnsupportedImage
from trade_analysis.trading.simulator import TradingError

_STATUS: list[tuple[type[Exception], int]] = [
    (TradingError, 409),
    (UnsupportedImage, 415),
    (InvalidPrice, 422),
]


def install_error_handlers(app: FastAPI) -> None:
    for error_type, status in _STATUS:
        app.add_exception_handler(error_type, _responder(status))


def _responder(status: int):  # type: ignore[no-untyped-def]
    async def respond(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return respond
