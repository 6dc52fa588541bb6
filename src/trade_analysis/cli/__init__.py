"""The `trade-analysis` command; each module of this package holds one family of commands."""

from __future__ import annotations

import logging

import typer

from trade_analysis.cli import capture, original, service, trading
from trade_analysis.cli.common import serve_command

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
    original.import_original,
):
    app.command()(command)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app(args=argv)
