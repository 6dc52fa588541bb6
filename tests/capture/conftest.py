"""Capture tests use the Xvfb and window fixtures of tests/conftest.py, and this ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.trading.ledger import Ledger


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """The ledger on a migrated, empty database, closed after the test."""
    upgrade(database_url)
    database = Database(database_url)
    yield Ledger(database)
    database.dispose()
