"""The application factory: `create_app(settings)` builds everything; the lifespan owns it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from trade_analysis import __version__
from trade_analysis.api import seed
from trade_analysis.api.deps import require_api_key
from trade_analysis.api.errors import install_error_handlers
from trade_analysis.api.limits import BodySizeLimit
from trade_analysis.api.routes import bots, capture, health, history, ingest, live, trades
from trade_analysis.config import Settings
from trade_analysis.services import Role, open_services

logger = logging.getLogger(__name__)

API_V1 = "/api/v1"


PROTECTED = (ingest, history, trades, bots, capture)


def include_routes(app: FastAPI, prefix: str = API_V1) -> None:
    """The typed API: `/ping` open, everything else behind the key.

    Each module's router is included straight into the app (not through an
    intermediate router): every level of nesting is matched again per request.
    """
    app.include_router(health.router, prefix=prefix)
    app.include_router(history.files_router, prefix=prefix)
    # Ingest first: the busiest route is matched before the others are tried.
    for module in PROTECTED:
        app.include_router(module.router, prefix=prefix, dependencies=[Depends(require_api_key)])


def include_seed_face(app: FastAPI) -> None:
    """The seed paths: the original's contract (api/seed.py), else the typed route as it is."""
    protected = [Depends(require_api_key)]
    app.include_router(seed.router, dependencies=protected)
    adapted = {
        (method, route.path)
        for route in seed.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    app.include_router(_seed_copy(health.router, adapted))
    app.include_router(_seed_copy(history.files_router, adapted))
    for module in PROTECTED:
        app.include_router(_seed_copy(module.router, adapted), dependencies=protected)


def _seed_copy(router: APIRouter, adapted: set[tuple[str, str]]) -> APIRouter:
    """The router's routes the seed face serves unchanged, documented under its tag."""
    copy = APIRouter()
    for route in router.routes:
        methods = sorted(route.methods or ()) if isinstance(route, APIRoute) else []
        if not isinstance(route, APIRoute) or {(m, route.path) for m in methods} & adapted:
            continue
        copy.add_api_route(
            route.path,
            route.endpoint,
            methods=methods,
            response_model=route.response_model,
            response_class=route.response_class,
            summary=route.summary,
            description=route.description,
            dependencies=route.dependencies,
            responses=route.responses,
            openapi_extra=route.openapi_extra,
            name=route.name,
            tags=["seed"],
        )
    return copy


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
    include_seed_face(app)
    include_routes(app)
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
