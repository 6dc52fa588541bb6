"""Retention: old observations (and their images) go; trades and their records stay forever."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trade_analysis.db import models

BATCH = 2000


def prune_batch(session: Session, cutoff: datetime) -> tuple[int, list[str]]:
    """Delete one batch of observations and observation records older than `cutoff`.

    Idempotency keys go with them: a retry comes within minutes, not after the
    retention period. Returns how many rows went and the image paths that no
    kept row still uses.
    Batches keep each write transaction short, so capture never waits long.
    """
    observation_rows = session.execute(
        select(models.Observation.id, models.Observation.image_path)
        .where(models.Observation.ts < cutoff)
        .order_by(models.Observation.ts)
        .limit(BATCH)
    ).all()
    record_rows = session.execute(
        select(models.Record.id, models.Record.image_path)
        .where(models.Record.kind == "observation", models.Record.ts < cutoff)
        .order_by(models.Record.ts)
        .limit(BATCH)
    ).all()
    if observation_rows:
        session.execute(
            delete(models.Observation).where(
                models.Observation.id.in_([row.id for row in observation_rows])
            )
        )
    if record_rows:
        session.execute(
            delete(models.Record).where(models.Record.id.in_([row.id for row in record_rows]))
        )
    keys = session.scalars(
        select(models.IdempotencyKey.key)
        .where(models.IdempotencyKey.created_at < cutoff)
        .limit(BATCH)
    ).all()
    if keys:
        session.execute(delete(models.IdempotencyKey).where(models.IdempotencyKey.key.in_(keys)))
    images = {row.image_path for row in [*observation_rows, *record_rows] if row.image_path}
    removed = len(observation_rows) + len(record_rows) + len(keys)
    return removed, sorted(unreferenced(session, images))


def unreferenced(session: Session, images: set[str]) -> set[str]:
    """Of these image paths (relative to the data directory), those no row points at."""
    return images - _still_used(session, images)


def _still_used(session: Session, images: set[str]) -> set[str]:
    """Images that a kept row (a trade's record, a newer observation) still points at."""
    if not images:
        return set()
    used: set[str] = set()
    for model in (models.Record, models.Observation):
        used.update(
            path
            for path in session.scalars(
                select(model.image_path).where(model.image_path.in_(images))
            )
            if path
        )
    return used
