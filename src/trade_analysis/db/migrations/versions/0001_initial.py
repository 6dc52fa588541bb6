"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:20:09.447788
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trade_analysis.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("hwnd", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("ticker", sa.String(length=16), nullable=True),
        sa.Column(
            "total_pnl", trade_analysis.db.types.Money(precision=28, scale=10), nullable=False
        ),
        sa.Column("open_direction", sa.String(length=8), nullable=True),
        sa.Column(
            "open_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
        ),
        sa.Column("open_time", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("last_signal", sa.JSON(), nullable=True),
        sa.Column("updated_at", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot"),
    )
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bots_hwnd"), ["hwnd"], unique=False)

    op.create_table(
        "observations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("ticker", sa.String(length=16), nullable=True),
        sa.Column("price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True),
        sa.Column("trend", sa.String(length=8), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("image_path", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index("ix_observations_bot_ts", ["bot", "ts"], unique=False)
        batch_op.create_index("ix_observations_ts", ["ts"], unique=False)

    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("bot", sa.String(length=64), nullable=True),
        sa.Column("image_path", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("ticker", sa.String(length=16), nullable=True),
        sa.Column("price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True),
        sa.Column("trend", sa.String(length=8), nullable=True),
        sa.Column(
            "buy_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
        ),
        sa.Column(
            "sell_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
        ),
        sa.Column("buy_time", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sell_time", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_kind_ts", ["kind", "ts"], unique=False)
        batch_op.create_index("ix_records_ticker_ts", ["ticker", "ts"], unique=False)
        batch_op.create_index("ix_records_ts", ["ts"], unique=False)

    op.create_table(
        "positions",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("is_long", sa.Boolean(), nullable=False),
        sa.Column(
            "entry_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
        ),
        sa.Column("entry_time", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_cycle_done", sa.Boolean(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("last_direction", sa.String(length=8), nullable=True),
        sa.Column(
            "last_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
        ),
        sa.Column("consecutive_drops", sa.Integer(), nullable=False),
        sa.Column("down_since", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "open_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(["open_record_id"], ["records.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("bot", "ticker"),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("profit", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("ix_trades_bot_ticker", ["bot", "ticker", "id"], unique=False)
        batch_op.create_index("ix_trades_ticker_ts", ["ticker", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index("ix_trades_ticker_ts")
        batch_op.drop_index("ix_trades_bot_ticker")

    op.drop_table("trades")
    op.drop_table("positions")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_ts")
        batch_op.drop_index("ix_records_ticker_ts")
        batch_op.drop_index("ix_records_kind_ts")

    op.drop_table("records")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_ts")
        batch_op.drop_index("ix_observations_bot_ts")

    op.drop_table("observations")
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bots_hwnd"))

    op.drop_table("bots")
