"""Moving an installation of the original backend over: `import-original`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from trade_analysis.cli.common import fail, load_settings


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
    """Import the original's database and images into DATABASE_URL; a second run adds nothing."""
    from trade_analysis.db.import_original import ImportFailed, Sources
    from trade_analysis.db.import_original import import_original as run_import
    from trade_analysis.db.migrate import upgrade
    from trade_analysis.db.session import Database
    from trade_analysis.storage import FileStore

    for folder, option in ((uploads, "--uploads"), (screenshots, "--screenshots")):
        if folder is not None and not folder.is_dir():
            fail(f"{option} {folder}: no such folder")
    settings = load_settings(data_dir)
    upgrade(settings.resolved_database_url)
    target = Database(settings.resolved_database_url)
    try:
        report = run_import(
            Sources(database, uploads, screenshots),
            target,
            FileStore(settings.uploads_dir),
            settings.screenshots_dir,
        )
    except (ImportFailed, FileNotFoundError) as exc:
        fail(str(exc))
    finally:
        target.dispose()
    typer.echo(json.dumps(report.to_json()))
