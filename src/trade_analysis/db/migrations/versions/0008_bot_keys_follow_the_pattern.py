"""Bot keys follow the one bot-key pattern: keys stored before every route checked it are renamed

Revision ID: 0008
Revises: 0007

`/manual_trade` once took any text as `bot`, so a ledger can hold keys such as
`a/b`, a key with a newline, or one starting with `=`. The routes that close,
rename or delete a bot address it by that key in the URL path, which only takes
`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`: such a bot could never be closed or deleted.

Each key outside the pattern becomes a slug of it (lower-case words joined by
`-`, `bot-` before one with no letter or digit, numbered when taken), in every
table that names it; the bot keeps the old key as its display name when it had
none. Downgrade keeps the new keys: the old ones were never addressable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, column, select, table, text, update
from sqlalchemy.sql.expression import TableClause

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (api.schemas.BOT_PATTERN); copied so the migration never changes.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_NOT_IN_SLUG = re.compile(r"[^a-z0-9]+")
_TABLES = ("bots", "positions", "trades", "observations", "records")


def upgrade() -> None:
    connection = op.get_bind()
    keys = _stored_keys(connection)
    taken = set(keys)
    for old in sorted(key for key in keys if _KEY.fullmatch(key) is None):
        new = _slug(old, taken)
        taken.add(new)
        for name in _TABLES:
            keyed = _keyed(name)
            connection.execute(update(keyed).where(keyed.c.bot == old).values(bot=new))
        connection.execute(
            text("UPDATE bots SET name = :old WHERE bot = :new AND name IS NULL"),
            {"new": new, "old": old[:255]},
        )
        connection.execute(
            text("UPDATE original_imports SET target_id = :new WHERE target_id = :old"),
            {"new": new, "old": old},
        )


def _stored_keys(connection: Connection) -> set[str]:
    keys: set[str] = set()
    for name in _TABLES:
        keyed = _keyed(name)
        rows = connection.execute(select(keyed.c.bot).where(keyed.c.bot.is_not(None)).distinct())
        keys.update(row[0] for row in rows)
    return keys


def _keyed(name: str) -> TableClause:
    return table(name, column("bot"))


def _slug(old: str, taken: set[str]) -> str:
    slug = _NOT_IN_SLUG.sub("-", old.lower()).strip("-")[:58].strip("-")
    if not slug or slug.isdigit():
        slug = f"bot-{slug}".strip("-")
    key, number = slug, 2
    while key in taken:
        key = f"{slug}-{number}"
        number += 1
    return key


def downgrade() -> None:
    pass
