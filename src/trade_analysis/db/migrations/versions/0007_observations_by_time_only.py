"""Observations are found by time only: drop the unused (bot, ts) index

Revision ID: 0007
Revises: 0006

Nothing reads observations by bot (retention reads them by time, everything
else by id), while every stored frame paid for the index: on SQLite it was
about a tenth of the write path's cost per observation.

Downgrade creates the index again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain index statements, not a batch: SQLite drops and creates indexes in place, and a
# batch could copy the whole table to do it.
def upgrade() -> None:
    op.drop_index("ix_observations_bot_ts", table_name="observations")


def downgrade() -> None:
    op.create_index("ix_observations_bot_ts", "observations", ["bot", "ts"], unique=False)
