"""The application factory: `create_app(settings)` builds everything; the lifespan owns it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from trade_analysis import __version__
from trade_analysis.aio import cancel_and_wait
from trade_analysis.api.deps import require_api_key
from trade_analysis.api.errors import install_error_handlers
from trade_analysis.api.limits import BodySizeLimit
from trade_analysis.api.routes import bots, capture, health, history, ingest, live, trades
from trade_analysis.config import Settings
from trade_analysis.db import retention
from trade_analysis.db.migrate import upgrade
from trade_analysis.domain import utcnow
from trade_analysis.live_state import seed_snapshot
from trade_analysis.services import Services
from trade_analysis.snapshots import SnapshotStream, ThumbnailTracker
from trade_analysis.storage import remove_data_file, remove_files_older_than

logger = logging.getLogger(__name__)

API_V1 = "/api/v1"
ORPHAN_BATCH = 500


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


def prune_once(services: Services) -> int:
    """One retention pass; returns how many rows went.

    Files go too: the images of pruned rows, screenshots older than the
    retention period (windows no longer captured keep their last ones
    otherwise), and uploads no row points at once they are older than
    `ORPHAN_GRACE_SECONDS` (a crash between writing the file and committing
    its rows; younger ones may still be on their way to a commit).
    """
    settings = services.settings
    cutoff = utcnow() - timedelta(days=settings.retention_days)
    removed = 0
    while True:
        with services.database.session() as session:
            count, images = retention.prune_batch(session, cutoff)
        for image in images:
            remove_data_file(settings.data_dir, image)
        removed += count
        if count < retention.BATCH:
            break
    old_screenshots = remove_files_older_than(
        settings.screenshots_dir, settings.retention_days * 86400, "*.jpg"
    )
    orphans = remove_orphan_uploads(services)
    if old_screenshots or orphans:
        logger.info("retention removed %d screenshots, %d orphan uploads", old_screenshots, orphans)
    return removed


def remove_orphan_uploads(services: Services) -> int:
    """Upload files older than the grace period that no row points at."""
    names = services.uploads.names_older_than(services.settings.orphan_grace_seconds)
    removed = 0
    for start in range(0, len(names), ORPHAN_BATCH):
        paths = {f"uploads/{name}" for name in names[start : start + ORPHAN_BATCH]}
        with services.database.reading() as session:
            orphans = retention.unreferenced(session, paths)
        removed += sum(remove_data_file(services.settings.data_dir, path) for path in orphans)
    return removed


async def _retention_loop(services: Services) -> None:
    while True:
        try:
            removed = await run_in_threadpool(prune_once, services)
            if removed:
                logger.info(
                    "retention removed %d observations older than %s days",
                    removed,
                    services.settings.retention_days,
                )
        except Exception:  # keep pruning on later passes; one failure must not stop it
            logger.exception("retention pass failed")
        await asyncio.sleep(services.settings.retention_interval_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.from_settings(settings)
        await run_in_threadpool(upgrade, services.database.url)
        services.uploads.ensure()
        services.uploads.sweep_incomplete()
        settings.screenshots_dir.mkdir(parents=True, exist_ok=True)
        app.state.services = services
        services.writer.start()
        await services.start_live()
        tracker = ThumbnailTracker()
        app.state.snapshots = SnapshotStream(partial(seed_snapshot, services, tracker))
        await app.state.snapshots.start()
        pruning = asyncio.create_task(_retention_loop(services), name="retention")
        try:
            yield
        finally:
            await cancel_and_wait(pruning)
            await app.state.snapshots.stop()
            await services.stop_live()
            services.close()

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
