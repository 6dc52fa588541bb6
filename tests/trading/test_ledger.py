"""The ledger on a real database: atomic writes, and state that survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import Side, Trend
from trade_analysis.trading.ledger import Ledger, ObservationInput

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def open_ledger(url: str) -> tuple[Database, Ledger]:
    upgrade(url)
    database = Database(url)
    return database, Ledger(database)


def observe(ledger: Ledger, trend: str, price: str, minute: int, bot: str = "w1"):
    return ledger.record_observation(
        ObservationInput(
            bot=bot,
            at=T0 + timedelta(minutes=minute),
            ticker="AAPL",
            price=Decimal(price),
            trend=Trend(trend),
        ),
        as_history=False,
    )


def test_an_open_position_survives_a_restart_and_its_sell_pairs_with_it(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    assert observe(ledger, "up", "100.10", 0).trade.side is Side.BUY
    database.dispose()

    database, restarted = open_ledger(database_url)
    sold = observe(restarted, "down", "103.35", 1).trade
    assert sold.side is Side.SELL and sold.profit == Decimal("3.25")
    assert sold.entry_price == Decimal("100.10")
    with database.session() as session:
        (record,) = session.scalars(select(models.Record)).all()
        assert (record.buy_price, record.sell_price) == (Decimal("100.10"), Decimal("103.35"))
        assert session.get(models.Bot, "w1").total_pnl == Decimal("3.25")
    database.dispose()


def test_the_stale_gate_survives_a_restart(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    observe(ledger, "down", "10", 0)
    database.dispose()
    database, restarted = open_ledger(database_url)
    assert observe(restarted, "down", "10", 1).trade is None
    database.dispose()


def test_first_cycle_waiting_survives_a_restart(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    assert observe(ledger, "down", "10", 0).trade.reason.value == "first_cycle"
    database.dispose()
    database, restarted = open_ledger(database_url)
    assert observe(restarted, "up", "11", 1).trade is None
    assert observe(restarted, "down", "10.5", 2).trade.side is Side.SELL
    database.dispose()


def test_prices_keep_every_digit(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    ledger.manual_trade(ticker="BTC", side=Side.BUY, price=Decimal("42000.12345678"), at=T0)
    sell = ledger.manual_trade(ticker="BTC", side=Side.SELL, price=Decimal("42000.2"), at=T0)
    assert sell.trade.profit == Decimal("0.07654322")
    with database.session() as session:
        prices = session.scalars(select(models.Trade.price).order_by(models.Trade.id)).all()
    assert prices == [Decimal("42000.12345678"), Decimal("42000.2")]
    database.dispose()
