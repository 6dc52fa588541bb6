"""The `trade-analysis` command: serve, db upgrade, replay (and the capture tools)."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from trade_analysis import cli_capture
from trade_analysis.config import Settings, UnsafeConfiguration

app = typer.Typer(
    help="Watch chart windows, paper-trade their signals, keep an honest ledger.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
for command in (cli_capture.windows, cli_capture.analyze, cli_capture.agent, cli_capture.demo):
    app.command()(command)

APP_FACTORY = "trade_analysis.app:create_app"


def serve_command(port: int, data_dir: Path, *options: str) -> list[str]:
    """The command line that starts the service as users do (for the demo, tests, benches)."""
    return [
        sys.executable,
        "-m",
        "trade_analysis",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *options,
    ]


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        # Environment, not an argument: uvicorn's worker processes read it too.
        os.environ["TRADE_ANALYSIS_DATA_DIR"] = str(data_dir)
    try:
        return Settings()
    except ValueError as exc:
        _fail(f"invalid configuration: {exc}")


@app.command()
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

    settings = _settings(data_dir)
    try:
        settings.check_bind_address(host)
    except UnsafeConfiguration as exc:
        _fail(str(exc))
    if settings.uses_default_key:
        typer.secho(
            "warning: using the default API key 'devkey'; listening on loopback only. "
            "Set BACKEND_API_KEY before exposing this service.",
            err=True,
            fg=typer.colors.YELLOW,
        )
    if workers > 1:
        if settings.bus_url.startswith("memory://"):
            _fail(
                "--workers > 1 needs a shared bus: with BUS_URL=memory:// each process would "
                "stream only its own events. Set BUS_URL=redis://host:6379/0."
            )
        # Capture must live in one process, not be split among the API workers.
        os.environ["CAPTURE_MODE"] = "agent"
        from trade_analysis.db.migrate import upgrade

        upgrade(settings.resolved_database_url)  # once, before the workers start
        typer.echo("capture: run `trade-analysis agent` on the desktop (CAPTURE_MODE=agent)")
    typer.echo(f"trade-analysis on http://{host}:{port}  data: {settings.data_dir.resolve()}")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=log_level,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Apply migrations to DATABASE_URL (or the SQLite file in the data directory)."""
    from trade_analysis.db.migrate import upgrade

    settings = _settings(data_dir)
    upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}: {_redacted(settings.resolved_database_url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="CSV with timestamp,ticker,price,trend[,bot]")],
    take_profit: Annotated[float | None, typer.Option(min=0.0, help="sell at entry + T")] = None,
    stop_loss: Annotated[float | None, typer.Option(min=0.0, help="sell at entry - S")] = None,
    sell_after_drops: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Run recorded signals through the simulator and print the trades as JSON."""
    from trade_analysis.trading.replay import replay as run_replay
    from trade_analysis.trading.simulator import Rules

    if not file.is_file():
        _fail(f"{file}: no such file")
    rules = Rules(
        take_profit=_amount(take_profit),
        stop_loss=_amount(stop_loss),
        sell_after_drops=sell_after_drops,
    )
    with file.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        missing = {"timestamp", "ticker", "price", "trend"} - set(reader.fieldnames or [])
        if missing:
            _fail(f"{file}: missing column(s) {', '.join(sorted(missing))}")
        result = run_replay(reader, rules)
    # One dumps call: json.dump's streaming writes are several times slower here.
    sys.stdout.write(json.dumps(result.to_json()) + "\n")


def _amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app(args=argv)
