"""Running the service: serve and db upgrade."""

from __future__ import annotations

import logging.config
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from trade_analysis.cli.common import APP_FACTORY, fail, load_settings, migrate_with_progress
from trade_analysis.config import UnsafeConfiguration
from trade_analysis.logs import logging_config
from trade_analysis.metrics import METRICS_DIR_NAME, prepare_multiprocess_dir

logger = logging.getLogger(__name__)

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes")] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="database and files (env TRADE_ANALYSIS_DATA_DIR)")
    ] = None,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run the service on embedded defaults: SQLite and files under the data directory."""
    import uvicorn

    from trade_analysis.server_http import PROTOCOL

    settings = load_settings(data_dir)
    try:
        settings.check_bind_address(host)
        settings.check_exposure()
    except UnsafeConfiguration as exc:
        fail(str(exc))
    log_config = logging_config(settings.log_format, log_level)
    logging.config.dictConfig(log_config)
    if settings.uses_default_key:
        logger.warning(
            "using the default API key 'devkey'; listening on loopback only. "
            "Set BACKEND_API_KEY before exposing this service."
        )
    if workers > 1:
        if settings.bus_url.startswith("memory://"):
            fail(
                "--workers > 1 needs a shared bus: with BUS_URL=memory:// each process would "
                "stream only its own events. Set BUS_URL=redis://host:6379/0."
            )
        # Capture must live in one process, not be split among the API workers.
        os.environ["CAPTURE_MODE"] = "agent"
        # Each worker writes its metrics to files there; /metrics adds them all up.
        prepare_multiprocess_dir(settings.data_dir / METRICS_DIR_NAME)
        logger.info("capture: run `trade-analysis agent` on the desktop (CAPTURE_MODE=agent)")
    if workers > 1 or sys.stderr.isatty():
        # Once, before the workers start (they find the schema current); on a terminal
        # each migration is told as it completes, here rather than inside the server.
        migrate_with_progress(settings.resolved_database_url)
    logger.info("trade-analysis on http://%s:%d  data: %s", host, port, settings.data_dir.resolve())
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=log_level,
        log_config=log_config,
        proxy_headers=False,
        # Bounds uvicorn leaves open: headers' size and time (server_http.py), messages'.
        http=PROTOCOL,
        ws_max_size=settings.max_websocket_message_bytes,
        # Requests still waiting at shutdown get this long; then the writer gets as long.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_seconds)),
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Apply migrations to DATABASE_URL (or the SQLite file in the data directory)."""
    settings = load_settings(data_dir)
    migrate_with_progress(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}: {_redacted(settings.resolved_database_url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
