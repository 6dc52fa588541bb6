"""Trades keep their quantity, fill price and fee; positions their fill and last buy and sell

Revision ID: 0010
Revises: 0009

`trades` gains `quantity`, `fill_price` and `fee`; `positions` gains the open
buy's `quantity`, `entry_fill_price` and `entry_fee`, and `last_buy_time` /
`last_sell_time` (the waits before a new buy count from them). Trades and open
positions from before are filled in as they were made: one unit at the read
price, no fee. The columns stay nullable, so servers of the previous revision
keep writing beside it (a null reads as one unit at the price, no fee).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import trade_analysis.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Money = trade_analysis.db.types.Money
_Time = trade_analysis.db.types.UTCDateTime

_TRADE_COLUMNS = ("quantity", "fill_price", "fee")
_POSITION_MONEY = ("quantity", "entry_fill_price", "entry_fee")
_POSITION_TIMES = ("last_buy_time", "last_sell_time")

_trades = sa.table(
    "trades",
    sa.column("price", _Money(28, 10)),
    *(sa.column(name, _Money(28, 10)) for name in _TRADE_COLUMNS),
)
_positions = sa.table(
    "positions",
    sa.column("is_long", sa.Boolean()),
    sa.column("entry_price", _Money(28, 10)),
    *(sa.column(name, _Money(28, 10)) for name in _POSITION_MONEY),
)


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch_op:
        for name in _TRADE_COLUMNS:
            batch_op.add_column(sa.Column(name, _Money(28, 10), nullable=True))
    with op.batch_alter_table("positions") as batch_op:
        for name in _POSITION_MONEY:
            batch_op.add_column(sa.Column(name, _Money(28, 10), nullable=True))
        for name in _POSITION_TIMES:
            batch_op.add_column(sa.Column(name, _Time(timezone=True), nullable=True))
    op.execute(
        _trades.update().values(quantity=Decimal(1), fill_price=_trades.c.price, fee=Decimal(0))
    )
    op.execute(
        _positions.update()
        .where(_positions.c.is_long.is_(True))
        .values(
            quantity=Decimal(1), entry_fill_price=_positions.c.entry_price, entry_fee=Decimal(0)
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch_op:
        for name in (*_POSITION_TIMES, *reversed(_POSITION_MONEY)):
            batch_op.drop_column(name)
    with op.batch_alter_table("trades") as batch_op:
        for name in reversed(_TRADE_COLUMNS):
            batch_op.drop_column(name)
