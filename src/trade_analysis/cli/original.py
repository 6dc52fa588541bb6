"""Moving an installation of the original backend over: `import-original`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trade_analysis.cli.common import fail, load_settings

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from trade_analysis.db.import_original import NoProgress


def import_original(
    database: Annotated[Path, typer.Argument(help="the original's backend_data.db")],
    uploads: Annotated[
        Path | None, typer.Option(help="the original's uploads folder (images of /ingest)")
    ] = None,
    screenshots: Annotated[
        Path | None, typer.Option(help="the original's screenshots folder (hwnd_<id>/...)")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="this service's data directory")] = None,
) -> None:
    """Import the original's database and images into DATABASE_URL; a second run adds nothing.

    Prints a JSON summary; on a terminal, progress bars for rows and images on stderr.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from trade_analysis.db.import_original import ImageLimits, ImportFailed, Sources
    from trade_analysis.db.import_original import import_original as run_import
    from trade_analysis.db.migrate import upgrade
    from trade_analysis.db.session import Database
    from trade_analysis.storage import FileStore

    # Everything the user named is checked before anything is created (no ./data for a typo).
    if not database.is_file():
        fail(f"{database}: no such file")
    for folder, option in ((uploads, "--uploads"), (screenshots, "--screenshots")):
        if folder is not None and not folder.is_dir():
            fail(f"{option} {folder}: no such folder")
    settings = load_settings(data_dir)
    upgrade(settings.resolved_database_url)
    target = Database(settings.resolved_database_url)
    limits = ImageLimits(settings.max_upload_bytes, settings.max_upload_pixels)
    try:
        with _progress() as progress:
            report = run_import(
                Sources(database, uploads, screenshots),
                target,
                FileStore(settings.uploads_dir),
                settings.screenshots_dir,
                limits,
                progress,
            )
    except (ImportFailed, FileNotFoundError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:  # a value this database refuses: named, not a traceback
        fail(f"nothing imported: the database refused a row: {exc.__class__.__name__}: {exc}")
    finally:
        target.dispose()
    typer.echo(json.dumps(report.to_json()))


class _Bars:
    """Rows per table and images copied, as rich progress bars on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, totals: dict[str, int]) -> None:
        for table, total in totals.items():
            self._tasks[table] = self._progress.add_task(f"{table} rows", total=total)
        self._tasks["images"] = self._progress.add_task("images copied", total=None)

    def rows(self, table: str, count: int) -> None:
        self._progress.advance(self._tasks[table], count)

    def image(self) -> None:
        self._progress.advance(self._tasks["images"], 1)


@contextmanager
def _progress() -> Iterator[_Bars | NoProgress]:
    from trade_analysis.db.import_original import NoProgress

    if not sys.stderr.isatty():
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield _Bars(progress)
