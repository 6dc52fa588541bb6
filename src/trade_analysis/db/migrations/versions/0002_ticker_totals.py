"""Running P&L per ticker, and indexes on the foreign keys to records

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import trade_analysis.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    totals = op.create_table(
        "ticker_totals",
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("total_pnl", trade_analysis.db.types.Money(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("losses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ticker"),
    )
    with op.batch_alter_table("trades") as batch_op:
        batch_op.create_index("ix_trades_record_id", ["record_id"], unique=False)
    with op.batch_alter_table("positions") as batch_op:
        batch_op.create_index("ix_positions_open_record_id", ["open_record_id"], unique=False)
    _backfill(totals)


def _backfill(totals: sa.Table) -> None:
    """Sum the existing sells in Python: exact decimals on every database."""
    trades = sa.table(
        "trades",
        sa.column("ticker", sa.String()),
        sa.column("profit", trade_analysis.db.types.Money()),
        sa.column("side", sa.String()),
    )
    rows = op.get_bind().execute(
        sa.select(trades.c.ticker, trades.c.profit).where(trades.c.side == "sell")
    )
    pnl: dict[str, Decimal] = defaultdict(Decimal)
    wins: dict[str, int] = defaultdict(int)
    losses: dict[str, int] = defaultdict(int)
    for ticker, profit in rows:
        profit = profit or Decimal(0)
        pnl[ticker] += profit
        if profit > 0:
            wins[ticker] += 1
        else:
            losses[ticker] += 1
    if pnl:
        op.bulk_insert(
            totals,
            [{"ticker": t, "total_pnl": pnl[t], "wins": wins[t], "losses": losses[t]} for t in pnl],
        )


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch_op:
        batch_op.drop_index("ix_positions_open_record_id")
    with op.batch_alter_table("trades") as batch_op:
        batch_op.drop_index("ix_trades_record_id")
    op.drop_table("ticker_totals")
