"""What the commands share: failing with a message, settings, the serve command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

from trade_analysis.config import Settings
from trade_analysis.logs import LogFormat

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


def fail(message: str) -> NoReturn:
    """Print `error: message` on stderr and exit with status 2 (a usage error)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def load_settings(data_dir: Path | None) -> Settings:
    """Settings from the environment, with `--data-dir` taking the place of its variable."""
    if data_dir is not None:
        # Environment, not an argument: uvicorn's worker processes read it too.
        os.environ["TRADE_ANALYSIS_DATA_DIR"] = str(data_dir)
    try:
        return Settings()
    except ValueError as exc:
        fail(f"invalid configuration: {exc}")


def log_format_from_environment() -> LogFormat:
    """LOG_FORMAT, read before a command runs; text when the settings are invalid (the
    command then fails with the reason, in text)."""
    try:
        return Settings().log_format
    except ValueError:
        return "text"
