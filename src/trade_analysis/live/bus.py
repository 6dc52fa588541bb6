"""A tiny pub/sub chosen by URL, after encode/broadcaster: `memory://` and `redis://`.

    bus = bus_from_url(settings.bus_url)
    await bus.connect()
    async with bus.subscribe("trade-analysis.events") as subscription:
        async for message in subscription:
            ...
    await bus.publish("trade-analysis.events", text)
    await bus.disconnect()

What it adds to broadcaster:

* **Bounded subscriber queues.** A subscription holds at most `max_queue`
  messages. A publisher never waits for a subscriber: when a queue is full
  the new message is dropped, counted in `Subscription.dropped`, and the
  subscription's `on_gap` callback runs, so its owner knows it missed
  something and can resync (the hub disconnects its clients, which
  reconnect and get a fresh `hello`).
* **Redis outages (the design decision).** `publish` never blocks for long:
  it tries at most twice (the second time on a fresh connection, since a
  pooled one may have died while idle), both within `op_timeout`, and
  after a failure every publish fails at once for `retry_after` seconds (a
  small circuit breaker), so HTTP handlers keep answering. A failure raises
  `BusUnavailable` (a `ConnectionError`): the bus cannot know whether
  dropping is acceptable, its caller can. `Hub.publish` catches it, logs once
  per outage and still delivers the event to its own process's clients.
  Subscriptions resubscribe by themselves with exponential backoff and
  jitter (`backoff_initial` .. `backoff_max`) and call `on_gap` once they
  are back, because Redis pub/sub does not replay what was published during
  the outage. `connect()` and the first subscribe fail fast with
  `BusUnavailable` when Redis is unreachable at start-up (a wrong `BUS_URL`
  should stop `serve`, not hide).

Query parameters: `memory://?max_queue=1000`, `redis://host:6379/0?max_queue=1000`
(other Redis query parameters go to redis-py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 1024
ACCEPTED_SCHEMES = ("memory", "redis", "rediss")

#: Called (synchronously, on the event loop) when a subscription missed messages.
OnGap = Callable[[str], None]


class BusUnavailable(ConnectionError):
    """The bus cannot take a message now (Redis down or unreachable)."""


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class Subscription:
    """The messages of one channel, in publish order; async-iterable.

    Filled by a bus backend, bounded by `max_queue`; iteration ends when the
    subscription is closed (its context manager exits or the bus disconnects).
    """

    def __init__(self, channel: str, *, max_queue: int, on_gap: OnGap | None = None) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.channel = channel
        self.max_queue = max_queue
        self.dropped = 0
        self._on_gap = on_gap
        self._items: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def _put(self, message: str) -> None:
        if self._closed:
            return
        if len(self._items) >= self.max_queue:
            self.dropped += 1
            self._gap(f"subscriber queue full ({self.max_queue}); message dropped")
            return
        self._items.append(message)
        self._wakeup.set()

    def _gap(self, reason: str) -> None:
        if self._on_gap is None:
            logger.warning("bus channel=%s missed messages: %s", self.channel, reason)
            return
        try:
            self._on_gap(reason)
        except Exception:
            logger.exception("bus channel=%s on_gap callback failed", self.channel)

    def _close(self) -> None:
        self._closed = True
        self._wakeup.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    async def get(self) -> str:
        """The next message; raises `StopAsyncIteration` once closed and drained."""
        return await self.__anext__()


class Bus(ABC):
    """Publish text messages on named channels; subscribe with a bounded queue."""

    def __init__(self, *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self.max_queue = max_queue
        self.reconnects = 0
        """Subscriptions restored after the bus was unavailable (for metrics)."""

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def disconnect(self) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, message: str) -> None:
        """Send `message` to every subscriber of `channel` in every process.

        Raises `BusUnavailable` when the message could not be handed over.
        """

    @abstractmethod
    def subscribe(
        self, channel: str, *, on_gap: OnGap | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """`async with bus.subscribe(channel) as sub:` - active once entered."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()


class MemoryBus(Bus):
    """In-process bus: one bounded queue per subscription; publish never waits."""

    def __init__(self, *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        super().__init__(max_queue=max_queue)
        self._channels: dict[str, set[Subscription]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for subscriptions in self._channels.values():
            for subscription in subscriptions:
                subscription._close()
        self._channels.clear()

    async def publish(self, channel: str, message: str) -> None:
        for subscription in tuple(self._channels.get(channel, ())):
            subscription._put(message)

    def subscriber_count(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, on_gap: OnGap | None = None
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel, max_queue=self.max_queue, on_gap=on_gap)
        self._channels.setdefault(channel, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscription._close()
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._channels[channel]


class RedisBus(Bus):
    """Redis pub/sub through `redis.asyncio`; survives Redis restarts (see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        op_timeout: float = 2.0,
        retry_after: float = 1.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        health_check_interval: int = 15,
    ) -> None:
        super().__init__(max_queue=max_queue)
        self.url = url
        self.op_timeout = op_timeout
        self.retry_after = retry_after
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.health_check_interval = health_check_interval
        self._client: Any = None
        self._down_until = 0.0
        self._outage_logged = False
        self._pumps: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RedisBus({redact_url(self.url)!r})"

    @property
    def available(self) -> bool:
        """False while the publish circuit breaker is open after a failure."""
        return self._client is not None and time.monotonic() >= self._down_until

    def _make_client(self) -> Any:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries inside redis-py: a publish must fail fast, and the
        # subscription loop below does its own reconnecting with backoff.
        return Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=self.op_timeout,
            socket_connect_timeout=self.op_timeout,
            socket_keepalive=True,
            health_check_interval=self.health_check_interval,
            retry=Retry(NoBackoff(), 0),
        )

    async def connect(self) -> None:
        if self._client is not None:
            return
        client = self._make_client()
        try:
            await client.ping()
        except Exception as exc:
            await client.aclose()
            raise BusUnavailable(f"cannot reach Redis at {redact_url(self.url)}: {exc}") from exc
        self._client = client
        logger.info("bus connected to %s", redact_url(self.url))

    async def disconnect(self) -> None:
        pumps = tuple(self._pumps)
        for task in pumps:
            task.cancel()
        if pumps:
            await asyncio.wait(pumps)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _require_client(self) -> Any:
        if self._client is None:
            raise BusUnavailable("bus is not connected: call connect() first")
        return self._client

    async def publish(self, channel: str, message: str) -> None:
        client = self._require_client()
        now = time.monotonic()
        if now < self._down_until:
            raise BusUnavailable(f"Redis at {redact_url(self.url)} is unavailable")
        try:
            async with asyncio.timeout(self.op_timeout):
                try:
                    await client.publish(channel, message)
                except Exception as exc:
                    if not _is_connection_error(exc):
                        raise
                    # Most often a pooled connection that died while idle (Redis
                    # restarted, an idle timeout): one more try on a fresh one.
                    # At-least-once: the first try may have reached Redis.
                    logger.debug("bus publish retried after %r", exc)
                    await client.publish(channel, message)
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            self._down_until = time.monotonic() + self.retry_after
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "bus publish to %s failed, Redis unavailable: %s", redact_url(self.url), exc
                )
            raise BusUnavailable(f"Redis at {redact_url(self.url)} is unavailable: {exc}") from exc
        if self._outage_logged:
            self._outage_logged = False
            logger.info("bus publish to %s works again", redact_url(self.url))

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, on_gap: OnGap | None = None
    ) -> AsyncIterator[Subscription]:
        client = self._require_client()
        subscription = Subscription(channel, max_queue=self.max_queue, on_gap=on_gap)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            self._pump(client, subscription, ready), name=f"redis-bus-subscribe:{channel}"
        )
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)
        try:
            await ready
            yield subscription
        finally:
            task.cancel()
            await asyncio.wait({task})
            subscription._close()

    async def _pump(
        self, client: Any, subscription: Subscription, ready: asyncio.Future[None]
    ) -> None:
        """Keep one PubSub subscribed to the channel, reconnecting with backoff."""
        attempt = 0
        down_since: float | None = None
        channel = subscription.channel
        while True:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                if not ready.done():
                    ready.set_result(None)
                elif down_since is not None:
                    self.reconnects += 1
                    logger.info(
                        "bus resubscribed to %s on %s after %.1fs",
                        channel,
                        redact_url(self.url),
                        time.monotonic() - down_since,
                    )
                    subscription._gap("resubscribed after a Redis outage")
                attempt = 0
                down_since = None
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self.health_check_interval
                    )
                    if message is not None and message.get("type") == "message":
                        subscription._put(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not _is_connection_error(exc):
                    logger.exception("bus subscription %s failed unexpectedly", channel)
                if not ready.done():
                    ready.set_exception(
                        BusUnavailable(
                            f"cannot subscribe to {channel} on {redact_url(self.url)}: {exc}"
                        )
                    )
                    return
                if down_since is None:
                    down_since = time.monotonic()
                    logger.warning(
                        "bus subscription %s on %s lost: %s; resubscribing",
                        channel,
                        redact_url(self.url),
                        exc,
                    )
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            delay = min(self.backoff_max, self.backoff_initial * 2**attempt)
            attempt += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))


def _is_connection_error(exc: BaseException) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError | TimeoutError)


def bus_from_url(url: str) -> Bus:
    """`memory://` -> `MemoryBus`; `redis://host:port/db` (or `rediss://`) -> `RedisBus`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    max_queue_text = options.pop("max_queue", None)
    try:
        max_queue = DEFAULT_MAX_QUEUE if max_queue_text is None else int(max_queue_text)
    except ValueError:
        raise ValueError(f"max_queue must be an integer, not {max_queue_text!r}") from None
    if max_queue < 1:
        raise ValueError("max_queue must be at least 1")
    if scheme == "memory":
        return MemoryBus(max_queue=max_queue)
    if scheme in ("redis", "rediss"):
        clean = urlunsplit(parts._replace(query=urlencode(options)))
        return RedisBus(clean, max_queue=max_queue)
    raise ValueError(
        f"unsupported bus URL scheme {parts.scheme!r} in {redact_url(url)!r}; "
        f"accepted schemes: {', '.join(s + '://' for s in ACCEPTED_SCHEMES)}"
    )
