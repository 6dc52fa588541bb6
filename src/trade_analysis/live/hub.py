"""The Hub: fan-out of live events to WebSocket clients, through the bus.

Transport-independent: a client is anything with `send_text` and `close`
(`LiveClient`), e.g. Starlette's `WebSocket`. A route uses it like this:

    handle = await hub.add_client(websocket, topics, hello=state.hello_event)
    try:
        async for text in websocket.iter_text():   # subscribe requests etc.
            ...  handle.subscribe(topics) / handle.push(Event(EventType.ERROR, {...}))
    finally:
        await hub.remove_client(handle)

Flow. `Hub.publish(event)` encodes the event once and publishes the text on
the bus channel; the hub's own subscription (started by `start()`) receives
every event published by any process on that channel, parses it once to
learn its type and coalescing key, and offers the *same* text object to
each local client. One code path for `memory://` and `redis://`. If the bus
is down (`BusUnavailable`), `publish` logs and delivers to this process's
clients directly, so a single process keeps streaming.

Per client, what it has not been sent yet is bounded and offering never
awaits a client:

* a droppable event (`snapshot`, `frame`, `worker`, ...) whose key is already
  pending replaces the pending one (newest wins, moved to the back so order
  with trades is kept);
* anything else takes a new slot; if all `max_pending` slots are taken the
  client is too slow and is disconnected with 1013 (try again later);
* a send that takes longer than `send_timeout` disconnects with 1013 too
  (one watchdog task looks every `send_timeout / 8`; no timer and no clock
  read per send).

How, so that a client costs little: the hub appends each event once to one
shared log, and a client that keeps up (the many) follows that log with a
cursor, sending each entry's text in turn, skipping types it did not
subscribe to and droppable entries a newer one with the same key has
superseded (which is that newest-wins rule). Nothing is done per client per
event when the event arrives: the reader wakes the followers once per batch
of bus messages. A client more than `max_pending` entries behind at the end
of a batch - stalled, or just slow - gets its own pending map instead: the
entries after its cursor are offered to it in order, exactly as they would
have been one by one, and it is offered every event from then on until it
has caught up and follows the log again. A client that is pushed a message
or changes its topics with entries still to take gets the same treatment
first. A client being set up (its `hello` being built) starts with a
pending map too.

A disconnected client reconnects and resyncs through `hello`; so nothing it
must see (`trade`) is dropped silently. When the bus reports a gap (a Redis
outage ended, or the hub's own subscription overflowed) all clients are
disconnected with 1013 for the same reason, unless `resync_on_gap=False`.

`hello` (the design decision). The route passes `hello=`: an `Event` or a
callable returning one (sync or async). `add_client` registers the client
first - events from then on are buffered - then builds the hello, queues it
*in front* of the buffer and only then starts sending. So no event falls
between the state in `hello` and the stream that follows; an event may
arrive twice (in `hello` and after it) - clients dedupe trades by id. A
failing hello provider unregisters the client and raises to the route.

`remove_client` is for the route when its socket is gone: it stops the sender
and frees the queue but does not call `close`. `stop()` closes every client
with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from trade_analysis.live.bus import Bus, BusUnavailable, Subscription
from trade_analysis.live.channels import Channels
from trade_analysis.live.eventlog import Entry, EventLog
from trade_analysis.live.events import Event, EventType, InvalidEvent

logger = logging.getLogger(__name__)

DEFAULT_CHANNEL = Channels().events
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013

HelloSource = Event | Callable[[], Event | Awaitable[Event]]


class LiveClient(Protocol):
    """What the hub needs of a connection (Starlette's WebSocket fits)."""

    async def send_text(self, data: str, /) -> None: ...

    async def close(self, code: int, reason: str, /) -> None: ...


@dataclass
class HubStats:
    """Counters since the hub was created (for logs, metrics and the bench)."""

    events: int = 0
    """Events received from the bus (or delivered locally during an outage)."""
    offered: int = 0
    """Event x client offers (after topic filtering)."""
    coalesced: int = 0
    """Offers that replaced an older pending droppable event."""
    sent: int = 0
    disconnected_slow: int = 0
    bus_failures: int = 0
    invalid: int = 0


class ClientHandle:
    """One registered client: its topics, what it has still to be sent, its sender task."""

    __slots__ = (
        "_client",
        "_close_reason",
        "_closed",
        "_closer",
        "_cursor",
        "_hub",
        "_own_queue",
        "_own_sends",
        "_pending",
        "_removed",
        "_sender",
        "_sending",
        "_started",
        "_topics",
        "_wakeup",
        "_watched",
        "_watched_since",
        "id",
    )

    def __init__(
        self, hub: Hub, client: LiveClient, topics: frozenset[EventType] | None, ident: int
    ) -> None:
        self.id = ident
        self._hub = hub
        self._client = client
        self._topics = topics
        self._own_queue = True
        """Offered each event into `_pending`; else following the hub's log from `_cursor`."""
        self._pending: OrderedDict[Hashable, str] = OrderedDict()
        self._cursor = 0
        self._own_sends = 0
        self._wakeup = asyncio.Event()
        self._started = False
        self._sending = False
        """In a send (or about to start one without yielding): the watchdog looks."""
        self._watched: int | None = None
        self._watched_since = 0.0
        self._removed = False
        self._close_reason: tuple[int, str] | None = None
        self._closed = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<ClientHandle {self.id} pending={self.pending} closing={self.closing}>"

    @property
    def client(self) -> LiveClient:
        return self._client

    @property
    def topics(self) -> frozenset[EventType] | None:
        """Event types this client receives; None means all."""
        return self._topics

    @property
    def pending(self) -> int:
        """Events waiting to be sent to this client."""
        if self._own_queue:
            return len(self._pending)
        topics = self._topics
        return sum(
            1
            for entry in self._hub._log.after(self._cursor)
            if not entry.superseded and (topics is None or entry.type in topics)
        )

    @property
    def closing(self) -> bool:
        """True once the hub disconnected the client or it was removed."""
        return self._close_reason is not None or self._removed

    @property
    def close_reason(self) -> tuple[int, str] | None:
        """(code, reason) when the hub disconnected the client, else None."""
        return self._close_reason

    async def wait_closed(self) -> None:
        """Wait until the client is out of the hub (and closed, if the hub closed it)."""
        await self._closed.wait()

    def subscribe(self, topics: Iterable[EventType] | None) -> None:
        """Receive only these event types from now on (None: all)."""
        # What was offered under the old topics stays offered.
        if not self._own_queue and self._cursor < self._hub._log.end:
            self._take_own_queue()
        self._topics = None if topics is None else frozenset(topics)

    def push(self, event: Event) -> None:
        """Queue a message for this client only (e.g. an `error` reply), ignoring topics.

        Use this instead of sending on the socket directly: the sender task
        is the only writer, so sends never interleave.
        """
        if not self._own_queue:
            self._take_own_queue()
        self._offer(event.to_json(), event.key)

    # -- internals, all on the event loop --------------------------------

    def _offer(self, text: str, key: Hashable | None) -> None:
        if self._close_reason is not None or self._removed:
            return
        pending = self._pending
        hub = self._hub
        hub.stats.offered += 1
        if key is not None and key in pending:
            pending[key] = text
            pending.move_to_end(key)
            hub.stats.coalesced += 1
            return
        if len(pending) >= hub.max_pending:
            hub._disconnect(self, TRY_AGAIN_LATER, f"client too slow: {len(pending)} pending")
            return
        pending[key if key is not None else (None, next(hub._seq))] = text
        if self._started:
            self._wakeup.set()

    def _take_own_queue(self) -> None:
        """Stop following the log: what this client has yet to take of it, offered in order."""
        hub = self._hub
        self._own_queue = True
        if self.closing:
            return
        hub._own_queues[self.id] = self
        topics = self._topics
        for entry in hub._log.after(self._cursor):
            if topics is None or entry.type in topics:
                self._offer(entry.text, entry.key)

    def _follow_log(self) -> None:
        """Caught up on its own queue: follow the log from its end."""
        hub = self._hub
        self._own_queue = False
        hub._own_queues.pop(self.id, None)
        self._cursor = hub._log.end

    def _start(self, first: str | None) -> None:
        if first is not None:
            key = (None, next(self._hub._seq))
            self._pending[key] = first
            self._pending.move_to_end(key, last=False)
        self._started = True
        self._wakeup.set()

    async def _send_loop(self) -> None:
        hub = self._hub
        stats = hub.stats
        send = self._client.send_text
        wakeup = self._wakeup
        while True:
            if self._own_queue:
                pending = self._pending
                if pending and self._started:
                    _, text = pending.popitem(last=False)
                    self._sending = True
                    # What the watchdog tells sends apart by: never a cursor into the log.
                    self._own_sends -= 1
                    self._cursor = self._own_sends
                    try:
                        await send(text)
                    except Exception as exc:
                        self._send_failed(exc)
                        return
                    stats.sent += 1
                    continue
                if self._started:
                    self._follow_log()
                    continue
            else:
                entries = hub._log.after(self._cursor)
                if entries:
                    self._sending = True
                    if not await self._send_entries(entries):
                        return
                    continue
            self._sending = False
            wakeup.clear()
            await wakeup.wait()

    async def _send_entries(self, entries: list[Entry]) -> bool:
        """Send these entries of the log (those after the cursor); False if the socket failed.

        The loop every event takes for every client that keeps up: kept to the least. The
        cursor stored before each send is what the watchdog tells one send from the next by.
        """
        send = self._client.send_text
        end = entries[-1].after
        topics = self._topics
        if topics is not None:
            entries = [entry for entry in entries if entry.type in topics]
        sent = coalesced = 0
        try:
            for entry in entries:
                if entry.superseded:
                    coalesced += 1
                    continue
                self._cursor = entry.after
                try:
                    await send(entry.text)
                except Exception as exc:
                    self._send_failed(exc)
                    return False
                sent += 1
                if self._own_queue:
                    # Fell too far behind during that send: the rest is in its own queue now.
                    return True
            self._cursor = end
            return True
        finally:
            stats = self._hub.stats
            stats.offered += sent + coalesced
            stats.coalesced += coalesced
            stats.sent += sent

    def _send_failed(self, exc: Exception) -> None:
        # The socket is gone; the route's receive loop will remove us.
        logger.debug("live client %s send failed: %r", self.id, exc)
        self._hub._detach(self)
        self._pending.clear()
        self._closed.set()


class Hub:
    """WebSocket fan-out over a `Bus`. Use `async with Hub(bus):` or start()/stop().

    The bus is owned by the caller: connect it before `start()`, disconnect
    it after `stop()`.
    """

    def __init__(
        self,
        bus: Bus,
        *,
        channel: str = DEFAULT_CHANNEL,
        max_pending: int = 64,
        send_timeout: float = 2.0,
        close_timeout: float = 2.0,
        resync_on_gap: bool = True,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.bus = bus
        self.channel = channel
        self.max_pending = max_pending
        self.send_timeout = send_timeout
        self.close_timeout = close_timeout
        self.resync_on_gap = resync_on_gap
        self.stats = HubStats()
        self._clients: dict[int, ClientHandle] = {}
        self._own_queues: dict[int, ClientHandle] = {}
        """Clients offered every event into their own pending map (the rest follow the log)."""
        self._log = EventLog()
        self._unflushed = 0
        self._closers: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._stack: AsyncExitStack | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus_down = False

    # -- lifecycle --------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._reader is not None

    async def start(self) -> None:
        """Subscribe to the bus channel; returns once the subscription is active."""
        if self._reader is not None:
            return
        stack = AsyncExitStack()
        subscription = await stack.enter_async_context(
            self.bus.subscribe(self.channel, on_gap=self._on_bus_gap)
        )
        self._stack = stack
        self._loop = asyncio.get_running_loop()
        self._reader = asyncio.create_task(self._read(subscription), name="hub-reader")
        self._watchdog = asyncio.create_task(self._watch_sends(), name="hub-send-watchdog")
        logger.info("hub started on channel %s", self.channel)

    async def stop(self) -> None:
        """Close every client with 1001, stop reading the bus."""
        for handle in tuple(self._clients.values()):
            self._disconnect(handle, GOING_AWAY, "server shutting down")
        if self._closers:
            await asyncio.wait(tuple(self._closers))
        self._log.clear()
        tasks = [t for t in (self._reader, self._watchdog) if t is not None]
        self._reader = self._watchdog = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        logger.info("hub stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- clients ----------------------------------------------------------

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def background_tasks(self) -> int:
        """Sender and closer tasks alive (for leak checks)."""
        senders = sum(
            1 for h in self._clients.values() if h._sender is not None and not h._sender.done()
        )
        return senders + len(self._closers)

    @property
    def backlog(self) -> int:
        """Events the hub holds for clients that have yet to take them (for leak checks).

        Dropped at the end of each batch of events once every client following the log
        has taken them, so at most the last batch once the clients have caught up.
        """
        return len(self._log)

    async def add_client(
        self,
        client: LiveClient,
        topics: Iterable[EventType] | None = None,
        *,
        hello: HelloSource | None = None,
    ) -> ClientHandle:
        """Register a client; it receives `hello` first, then events matching `topics`."""
        handle = ClientHandle(
            self, client, None if topics is None else frozenset(topics), next(self._ids)
        )
        self._clients[handle.id] = handle
        self._own_queues[handle.id] = handle
        handle._sender = asyncio.create_task(handle._send_loop(), name=f"hub-client-{handle.id}")
        first: str | None = None
        if hello is not None:
            try:
                if isinstance(hello, Event):
                    event = hello
                else:
                    produced = hello()
                    event = await produced if inspect.isawaitable(produced) else produced
                first = event.to_json()
            except BaseException:
                await self.remove_client(handle)
                raise
        handle._start(first)
        return handle

    async def remove_client(self, handle: ClientHandle) -> None:
        """Forget a client whose connection ended; idempotent. Does not call close()."""
        handle._removed = True
        self._detach(handle)
        handle._pending.clear()
        tasks = [t for t in (handle._sender, handle._closer) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        handle._closed.set()

    def _detach(self, handle: ClientHandle) -> None:
        self._clients.pop(handle.id, None)
        self._own_queues.pop(handle.id, None)

    def _disconnect(self, handle: ClientHandle, code: int, reason: str) -> None:
        """Drop a client from the fan-out now and close it in the background."""
        if handle._close_reason is not None or handle._removed:
            return
        handle._close_reason = (code, reason)
        self._detach(handle)
        handle._pending.clear()
        if code == TRY_AGAIN_LATER:
            self.stats.disconnected_slow += 1
            logger.info("live client %s disconnected (%s): %s", handle.id, code, reason)
        sender = handle._sender
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()
        closer = asyncio.create_task(self._close(handle, code, reason))
        handle._closer = closer
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)

    async def _close(self, handle: ClientHandle, code: int, reason: str) -> None:
        try:
            sender = handle._sender
            if sender is not None and not sender.done() and sender is not asyncio.current_task():
                await asyncio.wait({sender})
            async with asyncio.timeout(self.close_timeout):
                await handle._client.close(code, reason)
        except TimeoutError:
            logger.info("live client %s did not close within %gs", handle.id, self.close_timeout)
        except Exception as exc:
            logger.debug("live client %s close failed: %r", handle.id, exc)
        finally:
            handle._closed.set()

    # -- events -----------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """Send an event to every client of every process on the bus.

        Encodes once. Never waits for a client. If the bus is unavailable the
        event still reaches this process's clients (logged once per outage).
        """
        if self._reader is None:
            raise RuntimeError("hub is not started")
        text = event.to_json()
        try:
            await self.bus.publish(self.channel, text)
        except BusUnavailable as exc:
            self.stats.bus_failures += 1
            if not self._bus_down:
                self._bus_down = True
                logger.warning("hub: bus unavailable (%s); delivering to local clients only", exc)
            self._deliver(text, event)
            self._flush()
            return
        if self._bus_down:
            self._bus_down = False
            logger.info("hub: bus available again")

    def publish_threadsafe(self, event: Event) -> concurrent.futures.Future[None]:
        """`publish` from another thread (e.g. a capture worker); never from the loop."""
        if self._loop is None:
            raise RuntimeError("hub is not started")
        return asyncio.run_coroutine_threadsafe(self.publish(event), self._loop)

    async def _read(self, subscription: Subscription) -> None:
        async for text in subscription:
            self._receive(text)
            # A batch ends when the bus has nothing more for now (or is long enough):
            # only then can clients run, so only then is there anything to do per client.
            if not subscription or self._unflushed >= self.max_pending:
                self._flush()

    def _receive(self, text: str) -> None:
        try:
            event = Event.from_json(text)
        except InvalidEvent as exc:
            self.stats.invalid += 1
            logger.warning("hub: ignoring invalid bus message: %s", exc)
            return
        try:
            self._deliver(text, event)
        except Exception:
            logger.exception("hub: delivering %s failed", event.type)

    def _deliver(self, text: str, event: Event) -> None:
        """Append the event to the log and offer it to the clients with their own queue."""
        self.stats.events += 1
        event_type = event.type
        key = event.key
        self._log.append(text, event_type, key)
        self._unflushed += 1
        for handle in tuple(self._own_queues.values()):
            topics = handle._topics
            if topics is None or event_type in topics:
                handle._offer(text, key)

    def _flush(self) -> None:
        """End of a batch: wake the clients following the log; a client that has fallen
        more than `max_pending` entries behind takes its own queue; drop what all have."""
        self._unflushed = 0
        end = self._log.end
        behind = end - self.max_pending
        oldest = end
        for handle in tuple(self._clients.values()):
            if handle._own_queue:
                continue
            cursor = handle._cursor
            if cursor < end:
                if cursor < behind:
                    handle._take_own_queue()
                    continue
                if cursor < oldest:
                    oldest = cursor
                handle._wakeup.set()
        self._log.drop_before(oldest)

    async def _watch_sends(self) -> None:
        """Disconnect clients whose current send has taken longer than send_timeout.

        Senders read no clock: before each send a sender stores its cursor (in its own
        queue, a count of its own below zero), which tells one send from the next, and
        the watchdog notes when it first saw each. A send is seen within one look of its
        start and disconnected at the first look `send_timeout` after that: between
        send_timeout and send_timeout plus two looks after it started. Looking every
        `send_timeout / 8` (at most every 0.5 s) keeps the bound that one look every
        `send_timeout / 4` gave against a stamped start.
        """
        clock = time.monotonic
        timeout = self.send_timeout
        interval = min(max(timeout / 8, 0.005), 0.5)
        while True:
            await asyncio.sleep(interval)
            now = clock()
            for handle in tuple(self._clients.values()):
                if not handle._sending:
                    continue
                sending = handle._cursor
                if sending != handle._watched:
                    handle._watched = sending
                    handle._watched_since = now
                elif now - handle._watched_since >= timeout:
                    self._disconnect(handle, TRY_AGAIN_LATER, f"send took longer than {timeout:g}s")

    def _on_bus_gap(self, reason: str) -> None:
        if not self.resync_on_gap or not self._clients:
            logger.warning("hub: bus gap (%s)", reason)
            return
        logger.warning(
            "hub: bus gap (%s); disconnecting %d clients so they resync", reason, self.client_count
        )
        for handle in tuple(self._clients.values()):
            self._disconnect(handle, TRY_AGAIN_LATER, "live stream interrupted; reconnect")
