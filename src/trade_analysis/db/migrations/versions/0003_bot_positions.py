"""Open positions live only in `positions`: drop the bots' open_direction/price/time

Revision ID: 0003
Revises: 0002

The bot-level columns held one open position per bot, so a bot long in two
tickers lost one. `positions` holds every open position already (trades
write it in the same transaction); a bot whose open position has no
`positions` row at all gets one before the columns go, so none is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trade_analysis.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_bots = sa.table(
    "bots",
    sa.column("bot", sa.String()),
    sa.column("ticker", sa.String()),
    sa.column("open_direction", sa.String()),
    sa.column("open_price", trade_analysis.db.types.Money()),
    sa.column("open_time", trade_analysis.db.types.UTCDateTime()),
)
_positions = sa.table(
    "positions",
    sa.column("bot", sa.String()),
    sa.column("ticker", sa.String()),
    sa.column("is_long", sa.Boolean()),
    sa.column("entry_price", trade_analysis.db.types.Money()),
    sa.column("entry_time", trade_analysis.db.types.UTCDateTime()),
    sa.column("first_cycle_done", sa.Boolean()),
    sa.column("waiting", sa.Boolean()),
    sa.column("consecutive_drops", sa.Integer()),
)


def upgrade() -> None:
    _keep_open_positions()
    with op.batch_alter_table("bots") as batch_op:
        batch_op.drop_column("open_time")
        batch_op.drop_column("open_price")
        batch_op.drop_column("open_direction")


def _keep_open_positions() -> None:
    connection = op.get_bind()
    open_bots = connection.execute(
        sa.select(_bots.c.bot, _bots.c.ticker, _bots.c.open_price, _bots.c.open_time).where(
            _bots.c.open_direction == "long",
            _bots.c.ticker.is_not(None),
            _bots.c.open_price.is_not(None),
        )
    ).all()
    for bot, ticker, price, at in open_bots:
        key = (_positions.c.bot == bot) & (_positions.c.ticker == ticker)
        # Where the two disagree, `positions` is right: trades write it for each ticker.
        if connection.execute(sa.select(_positions.c.bot).where(key)).first() is None:
            op.execute(
                _positions.insert().values(
                    bot=bot,
                    ticker=ticker,
                    is_long=True,
                    entry_price=price,
                    entry_time=at,
                    first_cycle_done=True,
                    waiting=False,
                    consecutive_drops=0,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch_op:
        batch_op.add_column(sa.Column("open_direction", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column(
                "open_price", trade_analysis.db.types.Money(precision=28, scale=10), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "open_time", trade_analysis.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    # One open position per bot is all the old columns can hold: the newest.
    connection = op.get_bind()
    held = connection.execute(
        sa.select(_positions.c.bot, _positions.c.entry_price, _positions.c.entry_time)
        .where(_positions.c.is_long.is_(True))
        .order_by(_positions.c.entry_time)
    ).all()
    for bot, price, at in held:
        op.execute(
            _bots.update()
            .where(_bots.c.bot == bot)
            .values(open_direction="long", open_price=price, open_time=at)
        )
