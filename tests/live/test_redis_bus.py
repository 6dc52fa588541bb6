"""The Redis bus against the real Redis on 127.0.0.1:6379 (skipped if absent)."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from live_fakes import RecordingClient, TcpProxy, wait_until
from redis.asyncio import Redis

from trade_analysis.live.bus import BusUnavailable, RedisBus, bus_from_url
from trade_analysis.live.events import Event, EventType
from trade_analysis.live.hub import Hub

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


def client_name(url: str) -> str:
    return parse_qs(urlsplit(url).query)["client_name"][0]


async def kill_pubsub_connections(url: str) -> int:
    """Kill only this test's pub/sub connections (other users of Redis are left alone)."""
    admin = Redis(host="127.0.0.1", port=6379, decode_responses=True)
    try:
        killed = 0
        for info in await admin.client_list(_type="pubsub"):
            if info.get("name") == client_name(url):
                await admin.execute_command("CLIENT", "KILL", "ID", info["id"])
                killed += 1
        return killed
    finally:
        await admin.aclose()


async def test_publish_subscribe(redis_url: str, channel: str) -> None:
    async with bus_from_url(redis_url) as bus, bus.subscribe(channel) as sub:
        for i in range(3):
            await bus.publish(channel, f"m{i}")
        got = [await asyncio.wait_for(sub.get(), 2) for _ in range(3)]
        assert got == ["m0", "m1", "m2"]


async def test_two_buses_like_two_processes(redis_url: str, channel: str) -> None:
    async with (
        RedisBus(redis_url) as bus_a,
        RedisBus(redis_url) as bus_b,
        bus_a.subscribe(channel) as sub_a,
        bus_b.subscribe(channel) as sub_b,
    ):
        await bus_a.publish(channel, "from a")
        await bus_b.publish(channel, "from b")
        for sub in (sub_a, sub_b):
            got = {await asyncio.wait_for(sub.get(), 2) for _ in range(2)}
            assert got == {"from a", "from b"}


async def test_trade_on_one_hub_reaches_clients_of_both(redis_url: str, channel: str) -> None:
    async with (
        RedisBus(redis_url) as bus_a,
        RedisBus(redis_url) as bus_b,
        Hub(bus_a, channel=channel) as hub_a,
        Hub(bus_b, channel=channel) as hub_b,
    ):
        on_a, on_b = RecordingClient(), RecordingClient()
        await hub_a.add_client(on_a)
        await hub_b.add_client(on_b)
        event_a = Event(EventType.TRADE, {"id": 1, "bot_id": 1})
        event_b = Event(EventType.TRADE, {"id": 2, "bot_id": 2})
        await hub_a.publish(event_a)
        await hub_b.publish(event_b)
        for client in (on_a, on_b):
            await client.wait_for_count(2)
            assert sorted(json.loads(t)["data"]["id"] for t in client.texts) == [1, 2]


async def test_resubscribes_after_the_connection_is_killed(redis_url: str, channel: str) -> None:
    gaps: list[str] = []
    async with (
        RedisBus(redis_url, backoff_initial=0.05) as bus,
        bus.subscribe(channel, on_gap=gaps.append) as sub,
    ):
        await bus.publish(channel, "before")
        assert await asyncio.wait_for(sub.get(), 2) == "before"

        assert await kill_pubsub_connections(redis_url) == 1
        await wait_until(lambda: len(gaps) == 1, within=10)
        assert "resubscribed" in gaps[0]

        await bus.publish(channel, "after")
        assert await asyncio.wait_for(sub.get(), 2) == "after"


async def test_publisher_survives_a_killed_connection(redis_url: str, channel: str) -> None:
    async with RedisBus(redis_url) as bus, bus.subscribe(channel) as sub:
        await bus.publish(channel, "one")
        admin = Redis(host="127.0.0.1", port=6379, decode_responses=True)
        try:
            for info in await admin.client_list(_type="normal"):
                if info.get("name") == client_name(redis_url):
                    await admin.execute_command("CLIENT", "KILL", "ID", info["id"])
        finally:
            await admin.aclose()
        await bus.publish(channel, "two")
        assert [await asyncio.wait_for(sub.get(), 2) for _ in range(2)] == ["one", "two"]


async def test_redis_outage_and_return(redis_proxy: TcpProxy, redis_url: str, channel: str) -> None:
    """Redis goes away (the proxy cuts every connection) and comes back on the same port."""
    url = f"redis://127.0.0.1:{redis_proxy.port}/0?client_name={client_name(redis_url)}"
    bus = RedisBus(url, op_timeout=1.0, retry_after=0.2, backoff_initial=0.05, backoff_max=0.2)
    # A subscriber that talks to Redis directly: it sees what really went through Redis.
    async with (
        RedisBus(redis_url) as direct,
        direct.subscribe(channel) as observer,
        bus,
        Hub(bus, channel=channel) as hub,
    ):
        client = RecordingClient()
        handle = await hub.add_client(client)
        await hub.publish(Event(EventType.TRADE, {"id": 1}))
        await client.wait_for_count(1)
        assert Event.from_json(await asyncio.wait_for(observer.get(), 2)).data == {"id": 1}

        await redis_proxy.stop()
        # publish neither raises into the caller nor blocks: local clients still get it.
        started = time.monotonic()
        await hub.publish(Event(EventType.TRADE, {"id": 2}))
        assert time.monotonic() - started < 1.5
        await client.wait_for_count(2)
        assert hub.stats.bus_failures == 1
        assert not bus.available
        # While the breaker is open the bus fails at once, without touching the network.
        started = time.monotonic()
        with pytest.raises(BusUnavailable):
            await bus.publish(channel, "x")
        assert time.monotonic() - started < 0.1

        await redis_proxy.start()
        # The subscription comes back by itself and reports the gap (Redis
        # pub/sub does not replay): the hub asks its clients to resync.
        await asyncio.wait_for(handle.wait_closed(), 10)
        assert client.closed is not None and client.closed[0] == 1013

        other = RecordingClient()
        await hub.add_client(other)
        await wait_until(lambda: bus.available, within=2)
        await hub.publish(Event(EventType.TRADE, {"id": 3}))
        await other.wait_for_count(1)
        assert json.loads(other.texts[0])["data"] == {"id": 3}
        assert Event.from_json(await asyncio.wait_for(observer.get(), 2)).data == {"id": 3}
        assert hub.stats.bus_failures == 1
