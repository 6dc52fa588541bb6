"""The `trade-analysis` command; each module of this package holds one family of commands."""

from __future__ import annotations

import logging.config

import typer

from trade_analysis.cli import capture, data, original, service, trading
from trade_analysis.cli.common import log_format_from_environment, serve_command
from trade_analysis.logs import logging_config

__all__ = ["app", "main", "serve_command"]

app = typer.Typer(
    help="Watch chart windows, paper-trade their signals, keep an honest ledger.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(service.db_app, name="db")
for command in (
    service.serve,
    trading.replay,
    capture.windows,
    capture.analyze,
    capture.agent,
    capture.demo,
    data.export,
    data.backup,
    data.restore,
    original.import_original,
):
    app.command()(command)


def main(argv: list[str] | None = None) -> None:
    logging.config.dictConfig(logging_config(log_format_from_environment()))
    app(args=argv)
