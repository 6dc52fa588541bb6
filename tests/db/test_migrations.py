"""Migrations: the schema Alembic builds is the one the models describe, and data survives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, create_engine, insert, inspect, select, table

from trade_analysis.db import models
from trade_analysis.db.migrate import alembic_config, upgrade
from trade_analysis.db.types import Money, UTCDateTime

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


BOTS_AT_0002 = table(
    "bots",
    column("bot"),
    column("hwnd"),
    column("ticker"),
    column("total_pnl", Money()),
    column("open_direction"),
    column("open_price", Money()),
    column("open_time", UTCDateTime()),
    column("meta", JSON()),
)


def _position(bot: str, ticker: str, is_long: bool, price: str | None) -> dict[str, object]:
    return {
        "bot": bot,
        "ticker": ticker,
        "is_long": is_long,
        "entry_price": Decimal(price) if price else None,
        "entry_time": T0 if price else None,
        "first_cycle_done": True,
        "waiting": False,
        "consecutive_drops": 0,
    }


def test_open_positions_survive_dropping_the_bot_level_columns(database_url: str) -> None:
    upgrade(database_url, "0002")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for bot, ticker, price in [
            ("two", "TSLA", "250"),
            ("old", "MSFT", "300"),
            ("flat", "X", None),
        ]:
            connection.execute(
                insert(BOTS_AT_0002).values(
                    bot=bot,
                    hwnd=None,
                    ticker=ticker,
                    total_pnl=Decimal(0),
                    open_direction="long" if price else None,
                    open_price=Decimal(price) if price else None,
                    open_time=T0 if price else None,
                    meta={"ocr": True},
                )
            )
        # "two" is long in two tickers (the bot row showed only the newest); "old" has an
        # open position on its bot row and no positions row; "flat" holds nothing.
        connection.execute(
            insert(models.Position.__table__),
            [
                _position("two", "AAPL", True, "10"),
                _position("two", "TSLA", True, "250"),
                _position("flat", "X", False, None),
            ],
        )
    upgrade(database_url)
    with engine.connect() as connection:
        bot_columns = {column["name"] for column in inspect(connection).get_columns("bots")}
        held = connection.execute(
            select(models.Position.bot, models.Position.ticker, models.Position.entry_price)
            .where(models.Position.is_long.is_(True))
            .order_by(models.Position.bot, models.Position.ticker)
        ).all()
        metas = connection.execute(select(BOTS_AT_0002.c.meta)).scalars().all()
    engine.dispose()
    assert not bot_columns & {"open_direction", "open_price", "open_time"}
    assert [tuple(row) for row in held] == [
        ("old", "MSFT", Decimal("300")),
        ("two", "AAPL", Decimal("10")),
        ("two", "TSLA", Decimal("250")),
    ]
    assert metas == [{"ocr": True}] * 3


def test_downgrading_0003_puts_back_the_newest_open_position(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(models.Bot.__table__).values(bot="b", total_pnl=0, meta={}))
        connection.execute(
            insert(models.Position.__table__).values(**_position("b", "A", True, "5"))
        )
    command.downgrade(alembic_config(database_url), "0002")
    with engine.connect() as connection:
        row = connection.execute(select(BOTS_AT_0002)).one()
    engine.dispose()
    assert (row.open_direction, row.open_price, row.open_time) == ("long", Decimal(5), T0)
