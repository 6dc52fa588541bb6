"""The tables. Alembic migrations in db/migrations own the schema; these mirror it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trade_analysis.db.types import Money, UTCDateTime

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid.
Identity = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        dict[str, Any]: JSON(),
    }


class Record(Base):
    """The seed's history: an observation with its image, or a trade (a buy and its sell)."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # "observation" | "trade"
    bot: Mapped[str | None] = mapped_column(String(64))
    image_path: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    ticker: Mapped[str | None] = mapped_column(String(16))
    price: Mapped[Decimal | None]
    # The price as the client or the title wrote it ("$189.23"), which the seed's clients read.
    price_text: Mapped[str | None] = mapped_column(String(64))
    trend: Mapped[str | None] = mapped_column(String(8))
    buy_price: Mapped[Decimal | None]
    sell_price: Mapped[Decimal | None]
    buy_time: Mapped[datetime | None]
    sell_time: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_records_ts", "ts"),
        Index("ix_records_ticker_ts", "ticker", "ts"),
        Index("ix_records_kind_ts", "kind", "ts"),
    )


class Observation(Base):
    """What one capture or upload read: pruned after the retention period."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    ts: Mapped[datetime]
    bot: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    ticker: Mapped[str | None] = mapped_column(String(16))
    price: Mapped[Decimal | None]
    trend: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float | None]
    image_path: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # By time only: retention reads them by time, everything else by id.
    __table_args__ = (Index("ix_observations_ts", "ts"),)


class Trade(Base):
    """The ledger: every buy and sell, never pruned."""

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    ts: Mapped[datetime]
    bot: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(String(32))
    profit: Mapped[Decimal | None]
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id", ondelete="SET NULL"))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # As filled (migration 0010; null on a row written without them: 1 unit at `price`, no fee).
    quantity: Mapped[Decimal | None]
    fill_price: Mapped[Decimal | None]
    fee: Mapped[Decimal | None]
    # The history record this trade opened or completed (written in the same flush).
    record: Mapped[Record | None] = relationship(foreign_keys=[record_id])

    __table_args__ = (
        Index("ix_trades_ticker_ts", "ticker", "ts"),
        Index("ix_trades_bot_ticker", "bot", "ticker", "id"),
        # Deleting a record checks this foreign key; without an index that is a table scan.
        Index("ix_trades_record_id", "record_id"),
    )


class TickerTotal(Base):
    """Running P&L per ticker, updated with each sell: summaries never re-add the ledger."""

    __tablename__ = "ticker_totals"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    total_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    wins: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """What an upload with an `Idempotency-Key` stored: a retry is answered from it."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime]
    # No foreign keys: the observation may be pruned before its key is.
    observation_id: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    trade_id: Mapped[int | None] = mapped_column(BigInteger)
    image_path: Mapped[str | None] = mapped_column(String(255))
    # The sha256 (hex) of the request first sent with the key; None for keys kept before it.
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


class Position(Base):
    """The simulator's state per (bot, ticker), written with the trades that change it."""

    __tablename__ = "positions"

    bot: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    is_long: Mapped[bool] = mapped_column(Boolean, default=False)
    entry_price: Mapped[Decimal | None]
    entry_time: Mapped[datetime | None]
    first_cycle_done: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    last_direction: Mapped[str | None] = mapped_column(String(8))
    last_price: Mapped[Decimal | None]
    consecutive_drops: Mapped[int] = mapped_column(Integer, default=0)
    down_since: Mapped[datetime | None]
    open_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("records.id", ondelete="SET NULL"), index=True
    )
    open_record: Mapped[Record | None] = relationship(foreign_keys=[open_record_id])
    # The open buy as filled, and when the last buy and sell were (migration 0010).
    quantity: Mapped[Decimal | None]
    entry_fill_price: Mapped[Decimal | None]
    entry_fee: Mapped[Decimal | None]
    last_buy_time: Mapped[datetime | None]
    last_sell_time: Mapped[datetime | None]


class Bot(Base):
    """A lasting bot: its name, the window it reads from now, its settings and its P&L.

    `bot` is its key, which trades, positions, observations and records reference and
    which never changes. A captured window is recognised by `process` and `stem` (the
    title without its moving numbers); `hwnd` is the window it is bound to now (NULL
    when that window is gone; never two bots on one window). `capturing` says capture
    should run (it resumes when a matching window appears), unless `paused`.
    """

    __tablename__ = "bots"

    bot: Mapped[str] = mapped_column(String(64), primary_key=True)
    hwnd: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    ticker: Mapped[str | None] = mapped_column(String(16))
    total_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    # Its open positions are in `positions`, one per ticker (migration 0003 dropped the
    # bot-level copy). Settings the user saved (BotSettings): only settings routes write it.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_signal: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    updated_at: Mapped[datetime | None]
    process: Mapped[str | None] = mapped_column(String(255))
    stem: Mapped[str | None] = mapped_column(String(255), index=True)
    interval: Mapped[float | None] = mapped_column(Float)
    capturing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OriginalImport(Base):
    """A row of the original backend's database already imported (`import-original`)."""

    __tablename__ = "original_imports"

    source_table: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    target_id: Mapped[str | None] = mapped_column(String(64))


class AppSetting(Base):
    """A service-wide preference set at run time (`/time_mode`, `/signal_source`)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON())
    updated_at: Mapped[datetime | None]
