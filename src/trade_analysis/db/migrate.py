"""Apply the Alembic migrations that ship inside the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from trade_analysis.db.session import DatabaseTimeouts, create_db_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant shared by every process of this service: the advisory lock's name.
_MIGRATION_LOCK = 0x7472_6164_65
# A migration may rewrite a big table, and each process waits for the one migrating
# before it: bounded only in how long connecting may take.
_MIGRATION_TIMEOUTS = DatabaseTimeouts(statement=6 * 3600, lock=6 * 3600)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may carry %-escapes in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Told after each migration: its revision id and the first line of its description.
MigrationApplied = Callable[[str, str], None]


def upgrade(url: str, revision: str = "head", applied: MigrationApplied | None = None) -> None:
    """Migrate, one process at a time: API workers and replicas all start by upgrading.

    PostgreSQL: a transaction-scoped advisory lock; SQLite: the engine opens every
    transaction with BEGIN IMMEDIATE, which already excludes other writers.
    `applied` hears of each migration as it completes (progress for the commands).
    """
    engine = create_db_engine(url, _MIGRATION_TIMEOUTS)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _MIGRATION_LOCK}
                )
            config = alembic_config(url)
            config.attributes["connection"] = connection
            if applied is not None:
                config.attributes["on_version_apply"] = _telling(applied)
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _telling(applied: MigrationApplied) -> Callable[..., None]:
    """Alembic's `on_version_apply` hook, reduced to (revision, description)."""

    def on_version_apply(*, step: Any, **_: Any) -> None:
        revision = step.up_revision
        doc = (revision.doc if revision is not None else "").strip().splitlines()
        applied(str(step.up_revision_id), doc[0] if doc else "")

    return on_version_apply
