"""A bot outlives its window: identity, binding and desired capture state on `bots`

Revision ID: 0006
Revises: 0005

Adds `process` and `stem` (how a window is recognised), `interval`, `capturing`
and `paused` (capture resumes by itself), and makes `hwnd` the current binding:
unique, so no two bots are bound to one window.

Bots keyed by a window id (the key all digits, as capture made them until now)
are given a name from their last title: the `title` their newest observation
saw, else their stored name. The name is that title's stem. Bots whose names
are the same are merged into one, keyed by the name made a key
(`tsla-robinhood`): their trades, positions, observations and history records
are re-keyed to it, their total P&L summed; the most recently updated one
gives the merged bot its settings, last signal and window. When several of
them hold a position in the same ticker, the most recent position is kept
(latest entry time, else the most recently updated bot's) and the others are
dropped: their trades and history records stay in the ledger, a dropped open
buy's record stays open. A bot with no title and no name keeps its key.

Among bots bound to the same window id, only the most recently updated keeps it.

Downgrade drops the new columns and the unique index; merged bots stay merged
and keep their new keys (a key is any text in the older schema too).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

import trade_analysis.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Money = trade_analysis.db.types.Money
_Time = trade_analysis.db.types.UTCDateTime

_bots = sa.table(
    "bots",
    sa.column("bot", sa.String()),
    sa.column("hwnd", sa.BigInteger()),
    sa.column("name", sa.String()),
    sa.column("total_pnl", _Money()),
    sa.column("updated_at", _Time()),
    sa.column("stem", sa.String()),
)
_observations = sa.table(
    "observations",
    sa.column("id", sa.BigInteger()),
    sa.column("bot", sa.String()),
    sa.column("name", sa.String()),
    sa.column("meta", sa.JSON()),
)
_positions = sa.table(
    "positions",
    sa.column("bot", sa.String()),
    sa.column("ticker", sa.String()),
    sa.column("entry_time", _Time()),
)
_imports = sa.table(
    "original_imports",
    sa.column("source_table", sa.String()),
    sa.column("target_id", sa.String()),
)
# Tables whose rows name their bot, re-keyed when bots merge.
_KEYED = [sa.table(name, sa.column("bot", sa.String())) for name in ("trades", "records")]


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch_op:
        batch_op.add_column(sa.Column("process", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("stem", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("interval", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("capturing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    connection = op.get_bind()
    _name_and_merge_window_bots(connection)
    _one_bot_per_window(connection)
    with op.batch_alter_table("bots") as batch_op:
        batch_op.drop_index("ix_bots_hwnd")
        batch_op.create_index("ix_bots_hwnd", ["hwnd"], unique=True)
        batch_op.create_index("ix_bots_stem", ["stem"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bots") as batch_op:
        batch_op.drop_index("ix_bots_stem")
        batch_op.drop_index("ix_bots_hwnd")
        batch_op.create_index("ix_bots_hwnd", ["hwnd"], unique=False)
        for name in ("paused", "capturing", "interval", "stem", "process"):
            batch_op.drop_column(name)


# The rules for a title's stem and a bot's key as this revision applied them, copied
# here so that what it does never changes when the application's rules do.
_MAX_KEY = 64
_NOT_IN_KEY = re.compile(r"[^a-z0-9]+")

# What moves in a title while the chart ticks: times (`09:30:05 PM`), then amounts with
# their signs, currency and percent or magnitude (`-$1,234.56`, `+0.5%`, `1.2M`), and the
# arrows some sites put before a change. A number glued to a letter (`1D`, `H4`, `3M`) is
# part of a name or a timeframe and stays.
_MOVING = re.compile(
    r"(?<![\w.])\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?(?!\w))?"
    r"|(?<![\w.])[+\-\u2212\u00b1]?(?:[$\u20ac\u00a3\u00a5]\s?)?[+\-\u2212]?"
    r"(?P<amount>\.?\d(?:[\d,.]*\d)?)(?:\s?%|(?P<magnitude>[KMBT])?(?!\w))"
    r"|[\u25b2\u25bc\u25b4\u25be\u2191\u2193\u2b06\u2b07\U0001f53a\U0001f53b]"
)
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}")
_SEPARATOR_TOKEN = re.compile(r"^[-|/,:;+\u2013\u2014\u00b7\u2022]+$")


def _title_stem(title: str) -> str:
    """The title without its moving numbers (`TSLA $250.12 +1.30 | Robinhood` ->
    `TSLA | Robinhood`)."""
    text = _MOVING.sub(_blank_moving, title)
    previous = None
    while previous != text:  # `(( ))` empties in two passes
        previous, text = text, _EMPTY_BRACKETS.sub(" ", text)
    tokens: list[str] = []
    for token in text.split():
        if _SEPARATOR_TOKEN.match(token) and (not tokens or _SEPARATOR_TOKEN.match(tokens[-1])):
            continue  # a separator with nothing left before it
        tokens.append(token)
    while tokens and _SEPARATOR_TOKEN.match(tokens[-1]):
        tokens.pop()
    return " ".join(tokens)


def _blank_moving(match: re.Match[str]) -> str:
    # `1.2M` is a volume that moves; `3M` is a name.
    if match.group("magnitude") and not set(".,") & set(match.group("amount")):
        return match.group(0)
    return " "


def _new_bot_key(name: str, taken: Collection[str]) -> str:
    """A key from a name: lower-case words joined by `-`, never all digits, numbered
    when taken."""
    slug = _NOT_IN_KEY.sub("-", name.lower()).strip("-")[: _MAX_KEY - 6].strip("-")
    if not slug or slug.isdigit():
        slug = f"bot-{slug}".strip("-")
    key, number = slug, 2
    while key in taken:
        key = f"{slug}-{number}"
        number += 1
    return key


def _name_and_merge_window_bots(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(_bots.c.bot, _bots.c.name, _bots.c.updated_at, _bots.c.total_pnl)
    ).all()
    taken = {row.bot for row in rows}
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row.bot.isdigit():
            stem = _title_stem(_last_title(connection, row.bot) or row.name or "")
            if stem:
                groups[stem].append(row)
    for stem, bots in sorted(groups.items()):
        _merge(connection, stem, bots, taken)


def _last_title(connection: sa.Connection, bot: str) -> str | None:
    newest = connection.execute(
        sa.select(_observations.c.meta, _observations.c.name)
        .where(_observations.c.bot == bot)
        .order_by(_observations.c.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return None
    title = (newest.meta or {}).get("title")
    return title if isinstance(title, str) and title else newest.name


def _merge(connection: sa.Connection, stem: str, bots: list[Any], taken: set[str]) -> None:
    survivor = max(bots, key=lambda row: (_time(row.updated_at), row.bot))
    old_keys = [row.bot for row in bots]
    taken -= set(old_keys)
    key = _new_bot_key(stem, taken)
    taken.add(key)
    _keep_newest_positions(connection, old_keys, survivor.bot)
    for keyed in [*_KEYED, _observations, _positions]:
        connection.execute(sa.update(keyed).where(keyed.c.bot.in_(old_keys)).values(bot=key))
    connection.execute(
        sa.update(_imports)
        .where(_imports.c.source_table == "bots", _imports.c.target_id.in_(old_keys))
        .values(target_id=key)
    )
    total = sum((row.total_pnl or Decimal(0) for row in bots), start=Decimal(0))
    others = [k for k in old_keys if k != survivor.bot]
    if others:
        connection.execute(sa.delete(_bots).where(_bots.c.bot.in_(others)))
    connection.execute(
        sa.update(_bots)
        .where(_bots.c.bot == survivor.bot)
        .values(bot=key, name=stem[:255], stem=stem[:255], total_pnl=total)
    )


def _keep_newest_positions(connection: sa.Connection, keys: list[str], survivor: str) -> None:
    """Per ticker held by more than one of these bots, drop all but the most recent."""
    held: dict[str, list[Any]] = defaultdict(list)
    for row in connection.execute(
        sa.select(_positions.c.bot, _positions.c.ticker, _positions.c.entry_time).where(
            _positions.c.bot.in_(keys)
        )
    ):
        held[row.ticker].append(row)
    for ticker, rows in held.items():
        if len(rows) < 2:
            continue
        keep = max(rows, key=lambda row: (_time(row.entry_time), row.bot == survivor))
        for row in rows:
            if row is not keep:
                connection.execute(
                    sa.delete(_positions).where(
                        _positions.c.bot == row.bot, _positions.c.ticker == ticker
                    )
                )


def _one_bot_per_window(connection: sa.Connection) -> None:
    bound: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(
        sa.select(_bots.c.bot, _bots.c.hwnd, _bots.c.updated_at).where(_bots.c.hwnd.is_not(None))
    ):
        bound[row.hwnd].append(row)
    for rows in bound.values():
        newest = max(rows, key=lambda row: (_time(row.updated_at), row.bot))
        for row in rows:
            if row is not newest:
                connection.execute(sa.update(_bots).where(_bots.c.bot == row.bot).values(hwnd=None))


def _time(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")
