"""Domain errors mapped to HTTP: one place decides the status code and the `detail`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from trade_analysis.analysis import InvalidCrop, InvalidTitlePattern
from trade_analysis.capture.agent import AgentError, AgentUnavailable
from trade_analysis.capture.manager import InvalidWindow, NoFrameYet, UnknownWorker
from trade_analysis.capture.sources.base import CaptureUnavailable, WindowGone
from trade_analysis.domain import InvalidPrice
from trade_analysis.storage import UnsupportedImage
from trade_analysis.trading.simulator import TradingError

_STATUS: list[tuple[type[Exception], int]] = [
    (TradingError, 409),
    (UnsupportedImage, 415),
    (InvalidPrice, 422),
    (InvalidCrop, 422),
    (InvalidTitlePattern, 422),
    (UnknownWorker, 404),
    (NoFrameYet, 404),
    (InvalidWindow, 400),
    (WindowGone, 400),
    (CaptureUnavailable, 503),
    (AgentUnavailable, 503),
]


def install_error_handlers(app: FastAPI) -> None:
    for error_type, status in _STATUS:
        app.add_exception_handler(error_type, _responder(status))
    app.add_exception_handler(AgentError, _agent_error)


async def _agent_error(_request: Request, exc: Exception) -> JSONResponse:
    status = exc.status if isinstance(exc, AgentError) else 500
    return JSONResponse(status_code=status, content={"detail": str(exc)})


def _responder(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def respond(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return respond
