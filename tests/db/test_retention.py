"""Retention prunes old observations and their images, never trades or their records."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

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
