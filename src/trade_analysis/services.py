"""What the app's lifespan builds from settings and routes use: no module-level state."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from trade_analysis.config import Settings
from trade_analysis.db.session import Database
from trade_analysis.storage import FileStore
from trade_analysis.trading.ledger import Ledger

logger = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]


async def _nowhere(_type: str, _data: dict[str, Any]) -> None:
    return None


@dataclass
class Services:
    settings: Settings
    database: Database
    ledger: Ledger
    uploads: FileStore
    # Set by the live layer when it starts; events go nowhere before that.
    publish: Publish = field(default=_nowhere)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        database = Database(settings.resolved_database_url)
        uploads = FileStore(settings.uploads_dir)
        return cls(settings=settings, database=database, ledger=Ledger(database), uploads=uploads)

    def close(self) -> None:
        self.database.dispose()
