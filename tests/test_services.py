"""`open_services` builds the whole service for a role and closes all of it, also when a
step of the start fails."""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal

import pytest

from trade_analysis.capture.agent import RemoteCapture
from trade_analysis.capture.control import LocalCapture
from trade_analysis.config import Settings
from trade_analysis.domain import Side, utcnow
from trade_analysis.live import BusUnavailable
from trade_analysis.services import Role, open_services
from trade_analysis.trading.ledger import ObservationInput
from trade_analysis.trading.writer import WriterClosed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def writer_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "ledger-writer")


async def test_the_server_role_is_complete_when_it_exists_and_closed_after(
    settings: Settings,
) -> None:
    async with open_services(settings, Role.for_server(settings)) as services:
        assert services.role is Role.API
        assert isinstance(services.capture, LocalCapture)
        assert services.hub.running
        stored = services.writer.record_observation(
            ObservationInput(bot="b", at=utcnow()), as_history=True
        )
        assert stored.record_id is not None
        assert settings.screenshots_dir.is_dir() and settings.uploads_dir.is_dir()
    assert not services.hub.running
    with pytest.raises(WriterClosed):
        services.writer.submit(ObservationInput(bot="b", at=utcnow()), as_history=False)


async def test_a_failed_start_closes_what_was_already_open(settings: Settings) -> None:
    before = writer_threads()
    unreachable = settings.model_copy(update={"bus_url": "redis://127.0.0.1:1/0"})
    with pytest.raises(BusUnavailable):
        async with open_services(unreachable, Role.API):
            pytest.fail("the services must not open without their bus")
    assert writer_threads() == before


async def test_the_agent_role_streams_trades_with_a_coalesced_summary(settings: Settings) -> None:
    async with open_services(settings, Role.AGENT) as services:
        assert isinstance(services.capture, LocalCapture)
        async with services.hub.bus.subscribe(services.channels.events) as events:
            recorded = await asyncio.to_thread(
                services.ledger.manual_trade,
                ticker="AAPL",
                side=Side.BUY,
                price=Decimal("10.5"),
                at=utcnow(),
            )
            # As a capture thread does after its observation traded.
            trade = recorded.trade
            await asyncio.to_thread(services.feed.trade_threadsafe, recorded.trade_id, trade)
            async with asyncio.timeout(5):
                first = json.loads(await events.get())
                second = json.loads(await events.get())
    assert (first["type"], first["data"]["id"], first["data"]["price"]) == (
        "trade",
        recorded.trade_id,
        10.5,
    )
    assert second["type"] == "summary"
    assert second["data"]["tickers"]["AAPL"]["position"] == "long"
    assert second["data"]["tickers"]["AAPL"]["entry_price"] == 10.5


async def test_the_server_with_an_agent_answers_capture_through_the_bus(
    settings: Settings,
) -> None:
    remote = settings.model_copy(update={"capture_mode": "agent"})
    async with open_services(remote, Role.for_server(remote)) as services:
        assert services.role is Role.API_WITH_AGENT
        assert isinstance(services.capture, RemoteCapture)
        assert not services.capture.agent_connected
