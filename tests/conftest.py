"""Fixtures that build real objects: settings on a temporary data directory, a migrated
database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set) and the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.support.windows import chart_windows
from tests.support.xvfb import wm_display, xvfb_display
from trade_analysis.app import create_app
from trade_analysis.config import Settings, normalise_database_url

__all__ = ["chart_windows", "wm_display", "xvfb_display"]

TEST_KEY = "test-key-9f2c1e7a"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def _reset_postgres(url: str) -> None:
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database for each test."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        _reset_postgres(external)
        return normalise_database_url(external)
    return f"sqlite:///{tmp_path / 'data' / 'trade_analysis.db'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        api_key=TEST_KEY,
        data_dir=tmp_path / "data",
        database_url=database_url,
        max_upload_bytes=256 * 1024,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        test_client.headers.update(AUTH)
        yield test_client


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    """The same app, without the key."""
    return TestClient(client.app)
