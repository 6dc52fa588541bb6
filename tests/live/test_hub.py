from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from live_fakes import GatedClient, RecordingClient, StalledClient, wait_until

from trade_analysis.live.bus import BusUnavailable, MemoryBus
from trade_analysis.live.events import Event, EventType
from trade_analysis.live.hub import GOING_AWAY, TRY_AGAIN_LATER, Hub

pytestmark = pytest.mark.anyio


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    async with MemoryBus() as bus, Hub(bus, max_pending=16, send_timeout=5.0) as hub:
        yield hub


def trade(n: int) -> Event:
    return Event(EventType.TRADE, {"bot_id": 1, "seq": n, "side": "buy", "price": "1.5"})


def snapshot(n: int) -> Event:
    return Event(EventType.SNAPSHOT, {"seq": n})


def frame(hwnd: int, n: int) -> Event:
    return Event(EventType.FRAME, {"hwnd": hwnd, "seq": n})


def seqs(client: RecordingClient) -> list[tuple[str, Any]]:
    out = []
    for text in client.texts:
        raw = json.loads(text)
        out.append((raw["type"], raw["data"].get("seq")))
    return out


async def test_every_client_gets_every_event_in_order(hub: Hub) -> None:
    clients = [RecordingClient(f"c{i}") for i in range(5)]
    for client in clients:
        await hub.add_client(client)
    assert hub.client_count == 5
    for n in range(10):
        await hub.publish(trade(n))
    for client in clients:
        await client.wait_for_count(10)
        assert seqs(client) == [("trade", n) for n in range(10)]


async def test_publish_requires_a_started_hub() -> None:
    hub = Hub(MemoryBus())
    with pytest.raises(RuntimeError, match="not started"):
        await hub.publish(trade(1))


async def test_each_event_is_encoded_once_whatever_the_client_count(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"to_json": 0, "from_json": 0}
    real_to_json = Event.to_json
    real_from_json = Event.from_json.__func__  # type: ignore[attr-defined]

    def counting_to_json(self: Event) -> str:
        calls["to_json"] += 1
        return real_to_json(self)

    def counting_from_json(cls: type[Event], text: str) -> Event:
        calls["from_json"] += 1
        return real_from_json(cls, text)  # type: ignore[no-any-return]

    monkeypatch.setattr(Event, "to_json", counting_to_json)
    monkeypatch.setattr(Event, "from_json", classmethod(counting_from_json))

    clients = [RecordingClient() for _ in range(50)]
    for client in clients:
        await hub.add_client(client)
    events = [trade(1), snapshot(2), Event(EventType.WORKER, {"hwnd": 3, "status": "running"})]
    for event in events:
        await hub.publish(event)
    for client in clients:
        await client.wait_for_count(len(events))
    assert calls == {"to_json": len(events), "from_json": len(events)}
    # Every client was handed the very same str object.
    for i in range(len(events)):
        assert len({id(client.texts[i]) for client in clients}) == 1


async def test_healthy_clients_get_trades_promptly_while_one_is_stalled(hub: Hub) -> None:
    stalled = StalledClient()
    healthy = [RecordingClient(f"h{i}") for i in range(3)]
    stalled_handle = await hub.add_client(stalled)
    for client in healthy:
        await hub.add_client(client)

    n = hub.max_pending * 2  # more trades than the stalled client can hold
    for i in range(n):
        await hub.publish(trade(i))
        for client in healthy:
            await client.wait_for_count(i + 1, within=0.5)
    for client in healthy:
        assert seqs(client) == [("trade", i) for i in range(n)]

    await asyncio.wait_for(stalled_handle.wait_closed(), 2)
    assert stalled.closed is not None and stalled.closed[0] == TRY_AGAIN_LATER
    assert "too slow" in stalled.closed[1]
    assert hub.client_count == 3
    assert hub.stats.disconnected_slow == 1


async def test_a_send_that_times_out_disconnects_with_1013() -> None:
    async with MemoryBus() as bus, Hub(bus, send_timeout=0.2) as hub:
        stalled = StalledClient()
        handle = await hub.add_client(stalled)
        other = RecordingClient()
        await hub.add_client(other)
        await hub.publish(trade(1))
        await asyncio.wait_for(handle.wait_closed(), 3)
        assert stalled.closed == (TRY_AGAIN_LATER, "send took longer than 0.2s")
        assert handle.close_reason == stalled.closed
        assert seqs(other) == [("trade", 1)]
        assert hub.client_count == 1
        await hub.publish(trade(2))
        await other.wait_for_count(2)


async def test_slow_client_gets_latest_snapshot_not_a_backlog(hub: Hub) -> None:
    slow = GatedClient()
    fast = RecordingClient()
    await hub.add_client(slow)
    await hub.add_client(fast)
    await hub.publish(snapshot(0))
    await wait_until(lambda: slow.waiting == 1)  # slow is now stuck sending snapshot 0

    for n in range(1, 200):  # far more than max_pending: they coalesce
        await hub.publish(snapshot(n))
    # The fast client is not held back by the slow one: it has the latest too.
    await wait_until(lambda: bool(fast.texts) and seqs(fast)[-1] == ("snapshot", 199))
    slow.gate.set()
    await slow.wait_for_count(2)
    await hub.publish(trade(999))  # a marker: everything before it has been offered
    await slow.wait_for_count(3)
    assert seqs(slow) == [("snapshot", 0), ("snapshot", 199), ("trade", 999)]
    assert slow.closed is None
    assert hub.stats.coalesced >= 198


async def test_coalescing_is_per_key_and_keeps_order_with_trades(hub: Hub) -> None:
    slow = GatedClient()
    await hub.add_client(slow)
    await hub.publish(snapshot(0))
    await wait_until(lambda: slow.waiting == 1)
    await hub.publish(frame(1, 1))
    await hub.publish(frame(2, 2))
    await hub.publish(trade(3))
    await hub.publish(frame(1, 4))  # replaces frame(1, 1), now after trade 3
    await hub.publish(trade(5))
    await hub.publish(frame(2, 6))  # replaces frame(2, 2), now after trade 5
    await hub.publish(trade(7))
    slow.gate.set()
    await slow.wait_for_count(6)
    assert seqs(slow) == [
        ("snapshot", 0),
        ("trade", 3),
        ("frame", 4),
        ("trade", 5),
        ("frame", 6),
        ("trade", 7),
    ]


async def test_topics_filter_and_resubscribe(hub: Hub) -> None:
    only_trades = RecordingClient()
    everything = RecordingClient()
    handle = await hub.add_client(only_trades, {EventType.TRADE})
    await hub.add_client(everything)
    assert handle.topics == {EventType.TRADE}

    await hub.publish(snapshot(1))
    await hub.publish(trade(2))
    await everything.wait_for_count(2)
    await only_trades.wait_for_count(1)
    assert seqs(only_trades) == [("trade", 2)]

    handle.subscribe([EventType.SNAPSHOT])
    await hub.publish(trade(3))
    await hub.publish(snapshot(4))
    await everything.wait_for_count(4)
    await only_trades.wait_for_count(2)
    assert seqs(only_trades) == [("trade", 2), ("snapshot", 4)]

    handle.subscribe(None)
    await hub.publish(trade(5))
    await only_trades.wait_for_count(3)


async def test_push_reaches_only_that_client_whatever_its_topics(hub: Hub) -> None:
    a, b = RecordingClient(), RecordingClient()
    handle = await hub.add_client(a, set())
    await hub.add_client(b)
    handle.push(Event(EventType.ERROR, {"detail": "bad subscribe"}))
    await a.wait_for_count(1)
    assert json.loads(a.texts[0]) == {"type": "error", "data": {"detail": "bad subscribe"}}
    await hub.publish(trade(1))
    await b.wait_for_count(1)
    assert b.texts == [Event(EventType.TRADE, trade(1).data).to_json()]
    assert len(a.texts) == 1


async def test_hello_comes_first_and_nothing_falls_between_it_and_the_stream(hub: Hub) -> None:
    client = RecordingClient()

    async def hello() -> Event:
        # The state is read while events keep flowing (an async DB read).
        await hub.publish(trade(1))
        await asyncio.sleep(0)
        return Event(EventType.HELLO, {"workers": [], "seq": 0})

    await hub.add_client(client, hello=hello)
    await hub.publish(trade(2))
    await client.wait_for_count(3)
    assert seqs(client) == [("hello", 0), ("trade", 1), ("trade", 2)]


async def test_hello_can_be_an_event_or_a_plain_callable(hub: Hub) -> None:
    a, b = RecordingClient(), RecordingClient()
    await hub.add_client(a, hello=Event(EventType.HELLO, {"seq": 1}))
    await hub.add_client(b, hello=lambda: Event(EventType.HELLO, {"seq": 2}))
    await a.wait_for_count(1)
    await b.wait_for_count(1)
    assert seqs(a) == [("hello", 1)] and seqs(b) == [("hello", 2)]


async def test_failing_hello_unregisters_the_client(hub: Hub) -> None:
    def broken() -> Event:
        raise LookupError("database is down")

    before = len(asyncio.all_tasks())
    with pytest.raises(LookupError):
        await hub.add_client(RecordingClient(), hello=broken)
    assert hub.client_count == 0
    assert len(asyncio.all_tasks()) == before


async def test_connect_disconnect_cycles_do_not_leak(hub: Hub) -> None:
    keeper = RecordingClient()
    await hub.add_client(keeper)
    await asyncio.sleep(0)
    tasks_before = len(asyncio.all_tasks())
    for i in range(500):
        client: RecordingClient = StalledClient() if i % 10 == 0 else RecordingClient()
        handle = await hub.add_client(
            client, {EventType.TRADE}, hello=Event(EventType.HELLO, {"seq": i})
        )
        if i % 50 == 0:
            await hub.publish(trade(i))
        await hub.remove_client(handle)
        await hub.remove_client(handle)  # idempotent
    assert hub.client_count == 1
    assert hub.background_tasks == 1
    assert len(asyncio.all_tasks()) == tasks_before
    await keeper.wait_for_count(10)


async def test_kicked_clients_do_not_leak_either() -> None:
    async with MemoryBus() as bus, Hub(bus, max_pending=2, send_timeout=5.0) as hub:
        tasks_before = len(asyncio.all_tasks())
        for _ in range(50):
            stalled = StalledClient()
            handle = await hub.add_client(stalled)
            for n in range(4):
                await hub.publish(trade(n))
            await asyncio.wait_for(handle.wait_closed(), 2)
            assert stalled.closed is not None and stalled.closed[0] == TRY_AGAIN_LATER
            await hub.remove_client(handle)
        await wait_until(lambda: hub.background_tasks == 0)
        assert hub.client_count == 0
        assert len(asyncio.all_tasks()) == tasks_before


async def test_stop_closes_clients_with_going_away() -> None:
    async with MemoryBus() as bus:
        hub = Hub(bus)
        await hub.start()
        clients = [RecordingClient(), StalledClient()]
        for client in clients:
            await hub.add_client(client)
        await hub.publish(trade(1))
        await clients[0].wait_for_count(1)
        await asyncio.wait_for(hub.stop(), 3)
        assert [c.closed for c in clients] == [(GOING_AWAY, "server shutting down")] * 2
        assert hub.client_count == 0
        assert bus.subscriber_count(hub.channel) == 0


class FlakyBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish(self, channel: str, message: str) -> None:
        if self.down:
            raise BusUnavailable("simulated outage")
        await super().publish(channel, message)


async def test_bus_outage_still_delivers_to_local_clients() -> None:
    async with FlakyBus() as bus, Hub(bus) as hub:
        client = RecordingClient()
        await hub.add_client(client)
        bus.down = True
        await hub.publish(trade(1))
        await client.wait_for_count(1)
        bus.down = False
        await hub.publish(trade(2))
        await client.wait_for_count(2)
        assert seqs(client) == [("trade", 1), ("trade", 2)]
        assert hub.stats.bus_failures == 1


async def test_bus_gap_makes_clients_resync() -> None:
    # A tiny subscription queue overflows when many events are published
    # before the hub's reader runs: clients must reconnect for a fresh hello.
    async with MemoryBus(max_queue=2) as bus, Hub(bus) as hub:
        client = RecordingClient()
        handle = await hub.add_client(client)
        for n in range(5):
            await hub.publish(trade(n))
        await asyncio.wait_for(handle.wait_closed(), 2)
        assert client.closed == (TRY_AGAIN_LATER, "live stream interrupted; reconnect")
        assert hub.client_count == 0


async def test_invalid_bus_messages_are_ignored(hub: Hub) -> None:
    client = RecordingClient()
    await hub.add_client(client)
    await hub.bus.publish(hub.channel, "garbage")
    await hub.publish(trade(1))
    await client.wait_for_count(1)
    assert seqs(client) == [("trade", 1)]
    assert hub.stats.invalid == 1


async def test_publish_threadsafe_from_a_worker_thread(hub: Hub) -> None:
    client = RecordingClient()
    await hub.add_client(client)

    def worker() -> None:
        hub.publish_threadsafe(trade(42)).result(timeout=2)

    await asyncio.to_thread(worker)
    await client.wait_for_count(1)
    assert seqs(client) == [("trade", 42)]


# -- clients that fall behind and catch up ----------------------------------


async def test_a_client_behind_by_more_than_max_pending_catches_up_in_order(hub: Hub) -> None:
    slow = GatedClient()
    await hub.add_client(slow)
    await hub.publish(trade(0))
    await wait_until(lambda: slow.waiting == 1)
    for n in range(1, 101):  # far more events than max_pending, few keys
        await hub.publish(frame(n % 3, n) if n % 25 else trade(n))
    await hub.publish(trade(101))
    await wait_until(lambda: hub.stats.events == 102)
    slow.gate.set()
    await slow.wait_for_count(9)
    await hub.publish(trade(102))  # it follows the stream again
    await slow.wait_for_count(10)
    assert seqs(slow) == [
        ("trade", 0),
        ("trade", 25),
        ("trade", 50),
        ("trade", 75),
        ("frame", 97),
        ("frame", 98),
        ("frame", 99),
        ("trade", 100),
        ("trade", 101),
        ("trade", 102),
    ]
    assert slow.closed is None


async def test_subscribe_keeps_what_was_already_offered(hub: Hub) -> None:
    slow = GatedClient()
    handle = await hub.add_client(slow)
    await hub.publish(trade(0))
    await wait_until(lambda: slow.waiting == 1)
    await hub.publish(snapshot(1))  # offered while it took every type
    await wait_until(lambda: hub.stats.events == 2)
    handle.subscribe([EventType.TRADE])
    await hub.publish(snapshot(2))  # not any more
    await hub.publish(trade(3))
    slow.gate.set()
    await slow.wait_for_count(3)
    await hub.publish(trade(4))
    await slow.wait_for_count(4)
    assert seqs(slow) == [("trade", 0), ("snapshot", 1), ("trade", 3), ("trade", 4)]


async def test_push_takes_its_place_after_events_already_offered(hub: Hub) -> None:
    slow = GatedClient()
    handle = await hub.add_client(slow)
    await hub.publish(trade(0))
    await wait_until(lambda: slow.waiting == 1)
    await hub.publish(trade(1))
    await wait_until(lambda: hub.stats.events == 2)
    handle.push(Event(EventType.ERROR, {"detail": "bad subscribe"}))
    await hub.publish(trade(2))
    slow.gate.set()
    await slow.wait_for_count(4)
    assert seqs(slow) == [("trade", 0), ("trade", 1), ("error", None), ("trade", 2)]


async def test_the_hub_holds_no_backlog_for_clients_that_took_it(hub: Hub) -> None:
    clients = [RecordingClient() for _ in range(3)]
    for client in clients:
        await hub.add_client(client)
    stalled = StalledClient()
    stalled_handle = await hub.add_client(stalled)
    for n in range(100):
        await hub.publish(frame(n % 4, n))
        await hub.publish(trade(n))
        for client in clients:
            await client.wait_for_count(2 * (n + 1))
        # At most what the stalled client has yet to take before it gets its own queue.
        assert hub.backlog <= hub.max_pending + 2
    # It was given its own queue, then disconnected when that overflowed.
    await asyncio.wait_for(stalled_handle.wait_closed(), 2)
    assert stalled.closed is not None and "too slow" in stalled.closed[1]
    assert hub.backlog <= 2  # the last events, until the next ones arrive


async def test_a_client_whose_sends_each_finish_in_time_is_kept() -> None:
    class Sluggish(RecordingClient):
        async def send_text(self, data: str, /) -> None:
            await asyncio.sleep(0.02)
            await super().send_text(data)

    async with MemoryBus() as bus, Hub(bus, max_pending=64, send_timeout=0.3) as hub:
        client = Sluggish()
        handle = await hub.add_client(client)
        for n in range(40):  # together far longer than the send timeout
            await hub.publish(trade(n))
        await client.wait_for_count(40)
        assert client.closed is None and not handle.closing


async def test_a_send_stalled_while_the_client_fell_behind_still_times_out() -> None:
    async with MemoryBus() as bus, Hub(bus, max_pending=4, send_timeout=0.2) as hub:
        stalled = StalledClient()
        handle = await hub.add_client(stalled)
        await hub.publish(trade(0))
        await wait_until(lambda: stalled.attempts == 1)
        for n in range(1, 20):  # behind by more than max_pending, but coalesced: no overflow
            await hub.publish(snapshot(n))
        await asyncio.wait_for(handle.wait_closed(), 3)
        assert stalled.closed == (TRY_AGAIN_LATER, "send took longer than 0.2s")
