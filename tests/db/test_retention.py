"""Retention prunes old observations and their images, never trades or their records."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.images import image_bytes
from trade_analysis.config import Settings
from trade_analysis.db import models
from trade_analysis.domain import Side, utcnow
from trade_analysis.services import prune_once


def test_old_observations_go_and_trades_stay(client: TestClient, settings: Settings) -> None:
    services = client.app.state.services
    old = utcnow() - timedelta(days=settings.retention_days + 1)
    for index, trend in enumerate(["up", "none"]):
        client.post(
            "/api/v1/ingest",
            files={"file": ("a.png", image_bytes(seed=index), "image/png")},
            data={
                "ticker": "AAPL",
                "price": str(10 + index),
                "trend": trend,
                "ts": (old + timedelta(minutes=index)).isoformat(),
            },
        )
    services.ledger.manual_trade(ticker="MSFT", side=Side.BUY, price=Decimal(5), at=old)
    client.post(
        "/api/v1/ingest",
        files={"file": ("b.png", image_bytes(seed=9), "image/png")},
        data={"ticker": "AAPL", "price": "12"},
    )
    images_before = set(settings.uploads_dir.iterdir())

    removed = prune_once(services)

    assert removed == 2 + 2  # two old observations and their two history records
    with services.database.session() as session:
        assert session.scalar(select(func.count()).select_from(models.Trade)) == 2
        kinds = session.scalars(select(models.Record.kind)).all()
        assert sorted(kinds) == ["observation", "trade", "trade"]
    images_after = set(settings.uploads_dir.iterdir())
    # The unrecorded observation's image went; the traded one's and the recent one stay.
    assert len(images_before - images_after) == 1
    for record in client.get("/api/v1/history", params={"days": 3650}).json():
        if record["image_url"]:
            assert client.get(record["image_url"]).status_code == 200


def age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_orphan_uploads_and_old_screenshots_go_once_past_their_grace(
    client: TestClient, settings: Settings
) -> None:
    services = client.app.state.services
    kept = [
        client.post(
            "/ingest", files={"file": ("a.png", image_bytes(seed=seed), "image/png")}
        ).json()["image_url"]
        for seed in range(2)
    ]
    for name in kept:  # old files are kept while a row points at them
        age(settings.uploads_dir / name.split("/")[-1], 1)
    # A crash between writing a file and committing its rows leaves these behind.
    old_orphan = settings.uploads_dir / "0123456789abcdef.png"
    old_orphan.write_bytes(b"\x89PNG")
    age(old_orphan, 1)
    recent_orphan = settings.uploads_dir / "fedcba9876543210.png"  # may still be committing
    recent_orphan.write_bytes(b"\x89PNG")
    window = settings.screenshots_dir / "hwnd_77"
    window.mkdir(parents=True)
    for index in range(3):
        shot = window / f"2026010{index}T000000_000000Z.jpg"
        shot.write_bytes(b"jpeg")
        if index < 2:
            age(shot, settings.retention_days + 1)
    assert len(list(settings.uploads_dir.iterdir())) == 4

    prune_once(services)

    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == sorted(
        [recent_orphan.name, *(name.split("/")[-1] for name in kept)]
    )
    assert [p.name for p in window.iterdir()] == ["20260102T000000_000000Z.jpg"]
    for url in kept:
        assert client.get(url).status_code == 200
