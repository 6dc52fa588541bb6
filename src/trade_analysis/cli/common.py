"""What the commands share: failing with a message, settings, the serve command line."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
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


def migrate_with_progress(url: str, revision: str = "head") -> None:
    """`upgrade`, saying each migration on stderr as it completes when that is a terminal
    (a migration may rewrite a big table, which takes a while)."""
    from rich.console import Console

    from trade_analysis.db.migrate import upgrade

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        upgrade(url, revision)
        return
    started = time.monotonic()

    with console.status("migrating the database") as status:

        def applied(revision_id: str, description: str) -> None:
            nonlocal started
            seconds = time.monotonic() - started
            line = f"migrated {revision_id}: {description} ({seconds:.1f} s)"
            console.print(line, no_wrap=True, overflow="ellipsis")
            status.update(f"migrating the database: after {revision_id}")
            started = time.monotonic()

        upgrade(url, revision, applied)


@contextlib.contextmanager
def counting(what: str, *, show: bool = True) -> Iterator[Callable[[int], None]]:
    """A live count of `what` on stderr when that is a terminal (and `show`); yields
    `add(n)`."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, highlight=False)
    if not (show and console.is_terminal):
        yield lambda count: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn(f"{{task.completed:,.0f}} {what}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(what, total=None)
        yield lambda count: progress.advance(task, count)


@contextlib.contextmanager
def steps() -> Iterator[Callable[[str], None]]:
    """Say the steps of a long start on stderr when that is a terminal: the current one
    beside a spinner, each finished one on its own line with how long it took.
    Yields `step(text)`, which finishes the step before and begins this one."""
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        yield lambda text: None
        return
    current: str | None = None
    started = time.monotonic()

    def finish() -> None:
        if current is not None:
            console.print(f"done: {current} ({time.monotonic() - started:.1f} s)")

    with console.status("starting") as status:

        def step(text: str) -> None:
            nonlocal current, started
            finish()
            current, started = text, time.monotonic()
            status.update(text)

        yield step
        finish()  # not reached when the start failed: that step did not finish
