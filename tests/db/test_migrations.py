"""Migrations: the schema Alembic builds is the one the models describe, and data survives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, select

from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    engine.dispose()
    assert differences == []


def test_running_totals_are_backfilled_from_existing_sells(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for side, price, profit in [
            ("buy", "10", None),
            ("sell", "12.5", "2.5"),
            ("buy", "12", None),
            ("sell", "11.25", "-0.75"),
        ]:
            connection.execute(
                insert(models.Trade.__table__).values(
                    ts=T0,
                    bot="b",
                    ticker="AAPL",
                    side=side,
                    price=Decimal(price),
                    reason="signal",
                    profit=Decimal(profit) if profit else None,
                    meta={},
                )
            )
    upgrade(database_url)
    with engine.connect() as connection:
        row = connection.execute(select(models.TickerTotal.__table__)).one()
    engine.dispose()
    assert (row.ticker, row.total_pnl, row.wins, row.losses) == ("AAPL", Decimal("1.75"), 1, 1)
