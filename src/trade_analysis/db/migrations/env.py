"""Alembic environment: runs migrations on the connection trade_analysis.db.migrate opened."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from trade_analysis.db.models import Base
from trade_analysis.db.session import create_db_engine

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    # Set by trade_analysis.db.migrate when a command shows progress.
    told = context.config.attributes.get("on_version_apply")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=told,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by trade_analysis.db.migrate"
    engine = create_db_engine(url)
    with engine.connect() as own_connection:
        run_on(own_connection)
        own_connection.commit()
    engine.dispose()


run_migrations_online()
