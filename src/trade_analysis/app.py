"""The application factory: `create_app(settings)` builds everything; the lifespan owns it."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from trade_analysis import __version__, logs
from trade_analysis.aio import running
from trade_analysis.api import seed, seed_later
from trade_analysis.api.deps import require_api_key
from trade_analysis.api.docs import include_docs
from trade_analysis.api.errors import install_error_handlers
from trade_analysis.api.gate import GateMiddleware
from trade_analysis.api.guard import LoopbackGuard, LoopbackGuardMiddleware
from trade_analysis.api.limits import BodySizeLimit
from trade_analysis.api.observe import RequestObserver
from trade_analysis.api.policy import protect
from trade_analysis.api.routes import bots, capture, health, history, ingest, live, stats, trades
from trade_analysis.config import Settings
from trade_analysis.metrics import CONTENT_TYPE, Metrics
from trade_analysis.services import Role, open_services, sample_live_metrics

logger = logging.getLogger(__name__)

API_V1 = "/api/v1"


PROTECTED = (bots, capture, history, ingest, stats, trades)


def include_routes(app: FastAPI, prefix: str = API_V1) -> None:
    """The typed API: `/ping` open, everything else behind the key.

    One protected router carries the key check for every feature's routes.
    (Including `/ingest` first, straight into the app, measured no faster: see
    the README's "Performance departures".)
    """
    app.include_router(health.router, prefix=prefix)
    app.include_router(history.files_router, prefix=prefix)
    app.include_router(capture.frames_router, prefix=prefix)
    protected = APIRouter(dependencies=[Depends(require_api_key)])
    for module in PROTECTED:
        protected.include_router(module.router)
    app.include_router(protected, prefix=prefix)


def include_seed_face(app: FastAPI) -> None:
    """The seed paths: the original's contract (api/seed.py), else the typed route as it is."""
    protected = [Depends(require_api_key)]
    app.include_router(seed.router, dependencies=protected)
    app.include_router(seed_later.router, dependencies=protected)
    adapted = {
        (method, route.path)
        for route in [*seed.router.routes, *seed_later.router.routes]
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    app.include_router(_seed_copy(health.router, adapted))
    app.include_router(_seed_copy(history.files_router, adapted))
    app.include_router(_seed_copy(capture.frames_router, adapted))
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
    settings.check_exposure()
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
            expose_headers=["X-Total-Count", "X-Total-Count-Exact"],
        )
    # Outermost last: the gate (Host, Origin) before the body limit, both observed.
    app.add_middleware(BodySizeLimit, settings=settings)
    app.add_middleware(GateMiddleware, settings=settings)
    app.add_middleware(RequestObserver, metrics=metrics if settings.metrics_enabled else None)
    if guard is not None:
        app.add_middleware(LoopbackGuardMiddleware, guard=guard)
    install_error_handlers(app)
    include_seed_face(app)
    include_routes(app)
    app.include_router(live.router)
    include_docs(app)
    if settings.metrics_enabled:
        include_metrics(app, metrics)
    mount_dashboard(app)
    return app


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


@dataclass(frozen=True)
class _File:
    body: bytes
    media_type: str
    etag: str
    version: tuple[int, int]  # mtime_ns and size when read


class DashboardFiles:
    """The dashboard's files, each sent with a strict content policy, from memory.

    The page is a dozen small files asked for at once, while the same server answers
    the board's first reads: each is sent straight from the event loop (no thread per
    file), re-read only when it changed on disk. Only the files present at start are
    served (a path is looked up, never joined onto the folder); `ETag` answers a
    revalidation with 304.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths = {
            path.relative_to(directory).as_posix(): path
            for path in sorted(directory.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        }
        self.files: dict[str, _File] = {}

    def read(self, name: str) -> _File | None:
        path = self.paths.get(name)
        if path is None:
            return None
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self.files.get(name)
        if cached is None or cached.version != version:
            body = path.read_bytes()
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            digest = hashlib.blake2b(body, digest_size=12).hexdigest()
            cached = self.files[name] = _File(body, media_type, f'"{digest}"', version)
        return cached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path, root = scope["path"], scope.get("root_path", "")
        name = path[len(root) :] if root and path.startswith(root) else path
        if scope["method"] not in ("GET", "HEAD"):
            response: Response = PlainTextResponse("Method Not Allowed", 405)
        elif not name:
            response = RedirectResponse(request.url.path + "/")
        else:
            found = self.read(name[1:] if not name.endswith("/") else f"{name[1:]}index.html")
            if found is None:
                response = PlainTextResponse("Not Found", 404)
            elif found.etag in request.headers.get("if-none-match", ""):
                response = Response(status_code=304, headers={"ETag": found.etag})
            else:
                body = b"" if scope["method"] == "HEAD" else found.body
                response = Response(body, media_type=found.media_type)
                response.headers["ETag"] = found.etag
                response.headers["Content-Length"] = str(len(found.body))
        response.headers["Cache-Control"] = "no-cache"  # revalidated: a new release shows at once
        protect(response)
        await response(scope, receive, send)


def mount_dashboard(app: FastAPI) -> None:
    """The dashboard's static files (public: the key is typed in, never shipped in them)."""
    app.mount("/dashboard", DashboardFiles(DASHBOARD_DIR), name="dashboard")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard/")
