"""The price text a record came with, and which rows of the original were imported

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("price_text", sa.String(length=64), nullable=True))
    op.create_table(
        "original_imports",
        sa.Column("source_table", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("source_table", "source_id"),
    )


def downgrade() -> None:
    op.drop_table("original_imports")
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_column("price_text")
