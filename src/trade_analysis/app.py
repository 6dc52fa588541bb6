"""The application factory: `create_app(settings)` builds everything; the lifespan owns it."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from trade_analysis import __version__, logs
from trade_analysis.aio import running
from trade_analysis.api.credentials import issue_token
from trade_analysis.api.deps import ServicesDep, require_api_key, require_api_key_or_token
from trade_analysis.api.errors import install_error_handlers
from trade_analysis.api.guard import LoopbackGuard, LoopbackGuardMiddleware
from trade_analysis.api.limits import BodySizeLimit
from trade_analysis.api.observe import RequestObserver
from trade_analysis.api.routes import bots, capture, health, history, ingest, live, trades
from trade_analysis.config import Settings
from trade_analysis.domain import utcnow
from trade_analysis.metrics import CONTENT_TYPE, Metrics
from trade_analysis.services import Role, Services, open_services, sample_live_metrics

logger = logging.getLogger(__name__)

API_V1 = "/api/v1"


def include_routes(app: FastAPI, prefix: str = "") -> None:
    """The seed's routes: `/ping` open, everything else behind the key.

    One protected router carries the key check for every feature's routes.
    (Including `/ingest` first, straight into the app, measured no faster: see
    the README's "Performance departures".)
    """
    app.include_router(health.router, prefix=prefix)
    for files in (history.files_router, capture.files_router):
        app.include_router(files, prefix=prefix)
    protected = APIRouter(dependencies=[Depends(require_api_key)])
    for module in (bots, capture, history, ingest, trades):
        protected.include_router(module.router)
    app.include_router(protected, prefix=prefix)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.install(settings.log_format)
    guard = LoopbackGuard(settings) if settings.uses_default_key else None
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if guard is not None:
                guard.check()  # sockets a supervisor bound before starting this process
                if not guard.verified:  # a lone uvicorn binds only after start-up
                    await stack.enter_async_context(running(guard.watch(), "loopback-guard"))
            app.state.services = await stack.enter_async_context(
                open_services(settings, Role.for_server(settings), metrics)
            )
            yield
        Metrics.process_exited(os.getpid())

    app = FastAPI(
        title="trade-analysis",
        version=__version__,
        summary="Chart windows in; signals, paper trades and a live ledger out.",
        lifespan=lifespan,
        # Served behind the key instead (include_docs): only /ping is public.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
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
    app.add_middleware(RequestObserver, metrics=metrics if settings.metrics_enabled else None)
    if guard is not None:
        app.add_middleware(LoopbackGuardMiddleware, guard=guard)
    install_error_handlers(app)
    include_routes(app)
    include_routes(app, prefix=API_V1)
    app.include_router(live.router)
    include_docs(app)
    if settings.metrics_enabled:
        include_metrics(app, metrics)
    mount_dashboard(app)
    return app


def include_docs(app: FastAPI) -> None:
    """The OpenAPI document and its viewers, behind the key like every route but /ping.

    A browser opening `/docs?token=...` cannot send the key with the page's own
    request for the document, so the page asks for it with a fresh token.
    """
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_api_key_or_token)])

    def document_url(services: Services) -> str:
        token, _ = issue_token(services.settings.valid_keys[0], utcnow().timestamp())
        return f"/openapi.json?token={token}"

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger(services: ServicesDep) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=document_url(services), title=app.title)

    @router.get("/redoc")
    async def redoc(services: ServicesDep) -> HTMLResponse:
        return get_redoc_html(openapi_url=document_url(services), title=app.title)

    app.include_router(router)


def include_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Prometheus text format on the API port; Prometheus sends the key as a bearer token."""

    @app.get(
        "/metrics",
        dependencies=[Depends(require_api_key)],
        response_class=Response,
        tags=["health"],
        summary="Prometheus metrics (text format), for every process of this service",
        responses={200: {"content": {CONTENT_TYPE: {}}}},
    )
    async def prometheus_metrics(request: Request) -> Response:
        sample_live_metrics(request.app.state.services)
        body = await run_in_threadpool(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)


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
