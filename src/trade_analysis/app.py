"""The application factory: `create_app(settings)` builds everything; the lifespan owns it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from trade_analysis import __version__
from trade_analysis.api.deps import require_api_key
from trade_analysis.api.errors import install_error_handlers
from trade_analysis.api.limits import BodySizeLimit
from trade_analysis.api.routes import bots, capture, health, history, ingest, live, trades
from trade_analysis.config import Settings
from trade_analysis.services import Role, open_services

logger = logging.getLogger(__name__)

API_V1 = "/api/v1"


def include_routes(app: FastAPI, prefix: str = "") -> None:
    """The seed's routes: `/ping` open, everything else behind the key.

    Each module's router is included straight into the app (not through an
    intermediate router): every level of nesting is matched again per request.
    """
    app.include_router(health.router, prefix=prefix)
    app.include_router(history.files_router, prefix=prefix)
    # Ingest first: the busiest route is matched before the others are tried.
    for module in (ingest, history, trades, bots, capture):
        app.include_router(module.router, prefix=prefix, dependencies=[Depends(require_api_key)])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, Role.for_server(settings)) as services:
            app.state.services = services
            yield

    app = FastAPI(
        title="trade-analysis",
        version=__version__,
        summary="Chart windows in; signals, paper trades and a live ledger out.",
        lifespan=lifespan,
    )
    origins, credentials = settings.cors_origins()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=credentials,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Total-Count"],
        )
    app.add_middleware(BodySizeLimit, max_file_bytes=settings.max_upload_bytes)
    install_error_handlers(app)
    include_routes(app)
    include_routes(app, prefix=API_V1)
    app.include_router(live.router)
    mount_dashboard(app)
    return app


DASHBOARD_DIR = Path(__file__).with_name("web")
# The dashboard loads only its own files, images it is sent inline, and its own API.
DASHBOARD_POLICY = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class DashboardFiles(StaticFiles):
    """The dashboard's files, each sent with a strict content policy."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Content-Security-Policy"] = DASHBOARD_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def mount_dashboard(app: FastAPI) -> None:
    """The dashboard's static files (public: the key is typed in, never shipped in them)."""
    app.mount("/dashboard", DashboardFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard/")
