from __future__ import annotations

import asyncio

import pytest

from trade_analysis.live.bus import (
    BusUnavailable,
    MemoryBus,
    RedisBus,
    bus_from_url,
    redact_url,
)

pytestmark = pytest.mark.anyio


async def test_publish_reaches_subscriber_in_order() -> None:
    async with MemoryBus() as bus, bus.subscribe("ch") as sub:
        for i in range(5):
            await bus.publish("ch", f"m{i}")
        got = [await asyncio.wait_for(sub.get(), 1) for _ in range(5)]
        assert got == [f"m{i}" for i in range(5)]


async def test_every_subscriber_gets_every_message_and_channels_are_separate() -> None:
    bus = MemoryBus()
    async with bus.subscribe("a") as s1, bus.subscribe("a") as s2, bus.subscribe("b") as s3:
        await bus.publish("a", "x")
        await bus.publish("b", "y")
        assert await asyncio.wait_for(s1.get(), 1) == "x"
        assert await asyncio.wait_for(s2.get(), 1) == "x"
        assert await asyncio.wait_for(s3.get(), 1) == "y"
        assert len(s1) == len(s2) == len(s3) == 0
    assert bus.subscriber_count("a") == 0
    await bus.publish("a", "nobody listens")  # no error without subscribers


async def test_queue_is_bounded_and_overflow_is_reported_not_blocking() -> None:
    gaps: list[str] = []
    bus = MemoryBus(max_queue=3)
    async with bus.subscribe("ch", on_gap=gaps.append) as sub:
        for i in range(5):
            await asyncio.wait_for(bus.publish("ch", str(i)), 0.5)
        assert len(sub) == 3
        assert sub.dropped == 2
        assert len(gaps) == 2 and "full" in gaps[0]
        assert [await sub.get() for _ in range(3)] == ["0", "1", "2"]
        await bus.publish("ch", "5")
        assert await sub.get() == "5"


async def test_iteration_ends_when_bus_disconnects() -> None:
    bus = MemoryBus()
    async with bus.subscribe("ch") as sub:
        received: list[str] = []

        async def consume() -> None:
            async for message in sub:
                received.append(message)

        task = asyncio.create_task(consume())
        await bus.publish("ch", "one")
        await bus.disconnect()
        await asyncio.wait_for(task, 1)
        assert received == ["one"]
        assert sub.closed


def test_bus_from_url() -> None:
    memory = bus_from_url("memory://")
    assert isinstance(memory, MemoryBus)
    assert bus_from_url("memory://?max_queue=7").max_queue == 7
    redis = bus_from_url("redis://localhost:6379/2?max_queue=9&client_name=x")
    assert isinstance(redis, RedisBus)
    assert redis.max_queue == 9
    assert redis.url == "redis://localhost:6379/2?client_name=x"
    assert isinstance(bus_from_url("rediss://h:1/0"), RedisBus)


@pytest.mark.parametrize("url", ["kafka://x", "http://localhost", "", "memory"])
def test_bus_from_url_rejects_unknown_schemes_naming_accepted_ones(url: str) -> None:
    with pytest.raises(ValueError, match=r"accepted schemes: memory://, redis://, rediss://"):
        bus_from_url(url)


def test_bus_from_url_rejects_bad_max_queue() -> None:
    with pytest.raises(ValueError, match="max_queue"):
        bus_from_url("memory://?max_queue=lots")
    with pytest.raises(ValueError, match="at least 1"):
        bus_from_url("memory://?max_queue=0")


def test_redact_url_hides_password() -> None:
    assert redact_url("redis://user:secret@h:6379/0") == "redis://user:***@h:6379/0"
    assert redact_url("redis://:secret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"
    with pytest.raises(ValueError) as info:
        bus_from_url("nats://u:secret@h")
    assert "secret" not in str(info.value)


async def test_redis_bus_fails_fast_when_nothing_listens() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", op_timeout=1.0)
    with pytest.raises(BusUnavailable, match="cannot reach Redis"):
        await asyncio.wait_for(bus.connect(), 3)
    with pytest.raises(BusUnavailable, match="not connected"):
        await bus.publish("ch", "x")
