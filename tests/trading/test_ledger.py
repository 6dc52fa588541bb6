"""The ledger on a real database: atomic writes, and state that survives a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from trade_analysis.db import models
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.domain import Side, Trend
from trade_analysis.trading.binding import WindowIdentity
from trade_analysis.trading.ledger import (
    CaptureWish,
    IdempotencyKeyReused,
    Ledger,
    ObservationInput,
    StoredObservation,
    UnknownBot,
)
from trade_analysis.trading.simulator import NoOpenPosition, Reason

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


def test_a_group_remembers_the_window_even_when_an_upload_for_the_bot_comes_last(
    database_url: str,
) -> None:
    database, ledger = open_ledger(database_url)
    captured = ObservationInput(bot="7", hwnd=7, at=T0, ticker="AAPL")
    uploaded = ObservationInput(bot="7", at=T0 + timedelta(seconds=1), ticker="AAPL")
    ledger.record_observations([(captured, False), (uploaded, True)])
    with database.reading() as session:
        bot = session.get(models.Bot, "7")
        assert bot is not None and bot.hwnd == 7
    database.dispose()


def refuse_observations_of(database: Database, bot: str) -> None:
    """A trigger that makes the database itself refuse this bot's observations."""
    with database.transaction() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON observations "
                f"WHEN NEW.bot = '{bot}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.bot = '{bot}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON observations "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )


def test_a_group_is_stored_whole_or_not_at_all(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    refuse_observations_of(database, "w2")
    good = ObservationInput(bot="w1", at=T0, ticker="AAPL", price=Decimal(1), trend=Trend.UP)
    refused = ObservationInput(bot="w2", at=T0, ticker="AAPL", price=Decimal(1), trend=Trend.UP)
    with pytest.raises(DBAPIError, match="refused"):
        ledger.record_observations([(good, True), (refused, True)])
    with database.reading() as session:
        assert session.scalars(select(models.Observation)).all() == []
        assert session.scalars(select(models.Trade)).all() == []
        assert session.scalars(select(models.Position)).all() == []
    assert ledger.record_observation(good, as_history=True).trade is not None
    database.dispose()


def test_retries_in_one_group_store_the_observation_once(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    retried = ObservationInput(
        bot="desk",
        at=T0,
        ticker="AAPL",
        price=Decimal(10),
        trend=Trend.UP,
        image_path="uploads/a.png",
        idempotency_key="k-1",
    )
    again = replace(retried, image_path="uploads/b.png")
    first, second = ledger.record_observations([(retried, True), (again, True)])
    (later,) = ledger.record_observations([(again, True)])
    assert not first.replayed and second.replayed and later.replayed
    assert (second.observation_id, second.trade_id) == (first.observation_id, first.trade_id)
    assert (later.observation_id, later.trade_id, later.image_path) == (
        first.observation_id,
        first.trade_id,
        "uploads/a.png",
    )
    assert later.trade is not None and first.trade is not None
    seen = (later.trade.side, later.trade.price, later.trade.at, later.trade.reason)
    assert seen == (first.trade.side, first.trade.price, first.trade.at, first.trade.reason)
    with database.reading() as session:
        assert len(session.scalars(select(models.Observation)).all()) == 1
        assert len(session.scalars(select(models.Trade)).all()) == 1
    database.dispose()


# -- lasting bots: binding, capture wishes, closing by hand ------------------------------


def test_a_key_reused_for_another_request_is_refused_alone_in_its_group(
    database_url: str,
) -> None:
    database, ledger = open_ledger(database_url)
    first = ObservationInput(
        bot="desk",
        at=T0,
        ticker="AAPL",
        price=Decimal(10),
        trend=Trend.UP,
        idempotency_key="k-1",
        request_hash="a" * 64,
    )
    stored = ledger.record_observation(first, as_history=True)
    other_request = replace(first, price=Decimal(11), request_hash="b" * 64)
    fresh = replace(first, at=T0 + timedelta(minutes=1), idempotency_key="k-2")
    again_in_group = replace(fresh, price=Decimal(12), request_hash="c" * 64)
    reused, stored_fresh, reused_in_group, retry = ledger.record_observations(
        [(other_request, True), (fresh, True), (again_in_group, True), (first, True)]
    )
    assert isinstance(reused, IdempotencyKeyReused) and reused.key == "k-1"
    assert isinstance(reused_in_group, IdempotencyKeyReused) and reused_in_group.key == "k-2"
    assert isinstance(stored_fresh, StoredObservation) and not stored_fresh.replayed
    assert isinstance(retry, StoredObservation) and retry.replayed
    assert retry.observation_id == stored.observation_id
    with pytest.raises(IdempotencyKeyReused, match="'k-1' was used for a different request"):
        ledger.record_observation(other_request, as_history=True)
    with database.reading() as session:
        prices = session.scalars(select(models.Observation.price).order_by(models.Observation.id))
        assert list(prices) == [Decimal(10), Decimal(10)]
    database.dispose()


def test_a_key_without_a_request_hash_replays_whatever_comes_with_it(database_url: str) -> None:
    # Keys stored before requests were hashed, and callers that send none, replay as before.
    database, ledger = open_ledger(database_url)
    first = ObservationInput(
        bot="desk", at=T0, ticker="AAPL", price=Decimal(10), trend=Trend.UP, idempotency_key="k"
    )
    stored = ledger.record_observation(first, as_history=True)
    hashed = replace(first, price=Decimal(11), request_hash="b" * 64)
    retry = ledger.record_observation(hashed, as_history=True)
    assert retry.replayed and retry.observation_id == stored.observation_id
    database.dispose()


def chart(price: str) -> WindowIdentity:
    return WindowIdentity.of("chrome", f"AAPL ${price} +1.2 (+0.5%) - Robinhood")


def test_a_window_whose_price_moves_binds_to_the_same_bot_across_window_ids(
    database_url: str,
) -> None:
    database, ledger = open_ledger(database_url)
    first = ledger.bind_window(101, chart("175.20"), capture=CaptureWish(2.0))
    assert first.created and first.name == "AAPL - Robinhood (chrome)"
    again = ledger.bind_window(202, chart("180.00"))
    assert (again.bot, again.created) == (first.bot, False)
    with database.reading() as session:
        (row,) = session.scalars(select(models.Bot)).all()
    assert (row.hwnd, row.interval, row.capturing, row.stem) == (202, 2.0, True, "AAPL - Robinhood")
    database.dispose()


def test_two_running_windows_on_one_chart_are_two_bots_and_one_window_one_bot(
    database_url: str,
) -> None:
    database, ledger = open_ledger(database_url)
    first = ledger.bind_window(1, chart("1"))
    second = ledger.bind_window(2, chart("2"), busy={first.bot})
    assert second.bot != first.bot and second.name == f"{first.name} #2"
    # Moving the first bot onto the second's window unbinds the second.
    ledger.bind_window(2, chart("2"), bot=first.bot)
    assert ledger.bot_for_window(2) == first.bot and ledger.bot_for_window(1) is None
    with pytest.raises(UnknownBot):
        ledger.bind_window(3, chart("3"), bot="nobody")
    database.dispose()


def test_a_rebound_bot_sells_what_it_bought_and_renames_stick(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    bot = ledger.bind_window(1, chart("100")).bot
    assert observe(ledger, "up", "100", 0, bot=bot).trade.side is Side.BUY
    assert ledger.rename_bot(bot, "My Apple") and not ledger.rename_bot("nobody", "x")
    assert ledger.bind_window(2, chart("104")).bot == bot  # a new window, after a restart
    sold = observe(ledger, "down", "104", 1, bot=bot).trade
    assert sold.side is Side.SELL and sold.profit == Decimal(4)
    with database.reading() as session:
        assert session.get(models.Bot, bot).name == "My Apple"
    database.dispose()


def test_closing_by_hand_sells_at_the_last_price_read(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    observe(ledger, "up", "100", 0)
    observe(ledger, "up", "103.5", 1)  # no trade; the last price read moves
    (closed,) = ledger.close_positions("w1", T0 + timedelta(minutes=2))
    trade = closed.trade
    assert (trade.side, trade.price, trade.profit) == (Side.SELL, Decimal("103.5"), Decimal("3.5"))
    assert trade.reason is Reason.MANUAL_CLOSE and trade.reason.value == "manual close"
    with database.reading() as session:
        (record,) = session.scalars(select(models.Record)).all()
        stored = session.get(models.Trade, closed.trade_id)
    assert record.sell_price == Decimal("103.5") and record.meta["sell_reason"] == "manual close"
    assert stored.record_id == record.id
    with pytest.raises(NoOpenPosition):
        ledger.close_positions("w1", T0 + timedelta(minutes=3))
    database.dispose()


def test_capture_wishes_say_which_bots_resume(database_url: str) -> None:
    database, ledger = open_ledger(database_url)
    capturing = ledger.bind_window(1, chart("1"), capture=CaptureWish(1.5)).bot
    paused = ledger.bind_window(2, WindowIdentity.of("x", "MSFT 1"), capture=CaptureWish(1)).bot
    ledger.bind_window(3, WindowIdentity.of("x", "NVDA 1"))  # bound, never captured
    assert ledger.set_capture_state(paused, paused=True)
    assert ledger.set_capture_state(capturing, unbind=True)
    (waiting,) = ledger.bots_to_resume()
    assert (waiting.bot, waiting.interval, waiting.state) == (capturing, 1.5, "waiting_for_window")
    assert ledger.bot_capture(paused).state == "paused"
    assert not ledger.set_capture_state("nobody", paused=True)
    database.dispose()
