"""Capture in one place: the agent process and the API's remote control of it.

With several API processes, each holding its own workers would split the
registry, so capture runs in exactly one `trade-analysis agent`, on the
desktop. It reaches the server only through the bus and the database:

* commands: `{id, reply_to, command, args}` on `Channels.commands`; the agent answers
  `{id, ok, result}` or `{id, ok: false, status, detail}` on `reply_to`;
* state: every second the agent publishes its workers on `Channels.state` (thumbnails
  when they changed, and all of them every few seconds for late joiners);
* events (`trade`, `observation`, `frame`, `worker`) go on the hub's channel,
  so every client of every API process sees them; the ledger is shared SQL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trade_analysis.aio import cancel_and_wait
from trade_analysis.analysis import Crop
from trade_analysis.analysis.crop import InvalidCrop
from trade_analysis.capture.control import LocalCapture, WorkerView
from trade_analysis.capture.manager import (
    CaptureManager,
    InvalidWindow,
    UnknownWorker,
    crop_from_json,
    crop_json,
)
from trade_analysis.capture.sources.base import CaptureUnavailable, WindowGone
from trade_analysis.live import Bus, BusUnavailable, Event, EventType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channels:
    """Bus channel names under one prefix, so deployments can share a Redis server."""

    prefix: str = "trade-analysis"

    @property
    def events(self) -> str:
        return f"{self.prefix}.events"

    @property
    def commands(self) -> str:
        return f"{self.prefix}.capture.commands"

    @property
    def state(self) -> str:
        return f"{self.prefix}.capture.state"

    def replies(self, listener: str) -> str:
        return f"{self.prefix}.capture.replies.{listener}"


HEARTBEAT_SECONDS = 1.0
FULL_STATE_EVERY = 5
AGENT_TIMEOUT_SECONDS = 4.0
COMMAND_TIMEOUT_SECONDS = 10.0


class AgentUnavailable(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no capture agent is connected: run `trade-analysis agent` on the desktop "
            "with the same BUS_URL and DATABASE_URL"
        )


class AgentError(RuntimeError):
    """An error the agent reported, with the HTTP status it maps to."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


_ERROR_STATUS: list[tuple[type[Exception], int]] = [
    (UnknownWorker, 404),
    (InvalidWindow, 400),
    (WindowGone, 400),
    (InvalidCrop, 422),
    (ValueError, 422),
    (CaptureUnavailable, 503),
]


def _status_of(error: Exception) -> int:
    return next((status for kind, status in _ERROR_STATUS if isinstance(error, kind)), 500)


def _crop_from(data: object) -> Crop:
    crop = crop_from_json(data)
    if crop is None:
        raise ValueError(f"not a crop: {data!r}")
    return crop


def _edges_from(data: object) -> dict[str, float]:
    if not isinstance(data, dict):
        raise ValueError(f"not crop edges: {data!r}")
    return {str(edge): float(value) for edge, value in data.items()}


class Agent:
    """Runs capture workers here; serves commands and publishes state over the bus."""

    def __init__(self, bus: Bus, manager: CaptureManager, channels: Channels = Channels()) -> None:
        self.bus = bus
        self.channels = channels
        self.local = LocalCapture(manager)
        self.agent_id = uuid.uuid4().hex[:12]
        self._sent_versions: dict[int, int] = {}
        self._beats = 0
        self._serving: set[asyncio.Task[None]] = set()
        self._commands: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "list_windows": lambda a: self.local.list_windows(),
            "start": lambda a: self.local.start(
                int(a["hwnd"]),
                interval=float(a["interval"]),
                keep_last_n=int(a["keep_last_n"]),
                bring_to_foreground=a.get("bring_to_foreground"),
                legacy=bool(a.get("legacy", False)),
            ),
            "stop": lambda a: self.local.stop(int(a["hwnd"])),
            "stop_legacy": lambda a: self.local.stop_legacy(),
            "stop_all": lambda a: self.local.stop_all(),
            "set_line_detect": lambda a: self.local.set_line_detect(bool(a["enabled"])),
            "set_bring_to_foreground": lambda a: self.local.set_bring_to_foreground(
                bool(a["enabled"])
            ),
            "edit_global_crop": self._edit_global_crop,
            "edit_worker_crop": self._edit_worker_crop,
            "reload_bot_settings": lambda a: self.local.reload_bot_settings(int(a["hwnd"])),
        }

    async def _edit_global_crop(self, args: dict[str, Any]) -> dict[str, float]:
        return crop_json(await self.local.edit_global_crop(_edges_from(args["edges"])))

    async def _edit_worker_crop(self, args: dict[str, Any]) -> dict[str, Any]:
        crop, applied = await self.local.edit_worker_crop(
            int(args["hwnd"]), _edges_from(args["edges"])
        )
        return {"crop": crop_json(crop), "applied": applied}

    async def run(self) -> None:
        async with self.bus.subscribe(self.channels.commands) as commands:
            beating = asyncio.create_task(self._heartbeat(), name="agent-heartbeat")
            logger.info("capture agent %s listening on the bus", self.agent_id)
            try:
                async for text in commands:
                    task = asyncio.create_task(self._serve(text))
                    self._serving.add(task)
                    task.add_done_callback(self._serving.discard)
            finally:
                await cancel_and_wait(beating)
                await self.local.close()

    async def _serve(self, text: str) -> None:
        try:
            request = json.loads(text)
            request_id, reply_to = str(request["id"]), str(request["reply_to"])
            command = self._commands[str(request["command"])]
        except (ValueError, KeyError, TypeError):
            logger.warning("agent: ignoring malformed command %.200r", text)
            return
        try:
            result = await command(request.get("args") or {})
            reply: dict[str, Any] = {"id": request_id, "ok": True, "result": result}
        except Exception as exc:
            status = _status_of(exc)
            if status == 500:
                logger.exception("agent: command %s failed", request.get("command"))
            reply = {"id": request_id, "ok": False, "status": status, "detail": str(exc)}
        with contextlib.suppress(BusUnavailable):
            await self.bus.publish(reply_to, json.dumps(reply, default=str))

    async def _heartbeat(self) -> None:
        while True:
            with contextlib.suppress(BusUnavailable):
                state = json.dumps(await self._state(), default=str)
                await self.bus.publish(self.channels.state, state)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _state(self) -> dict[str, Any]:
        self._beats += 1
        full = self._beats % FULL_STATE_EVERY == 1
        workers = []
        for view in await self.local.workers():
            changed = self._sent_versions.get(view.hwnd) != view.thumbnail_version
            send = (full or changed) and view.thumbnail_jpeg is not None
            self._sent_versions[view.hwnd] = view.thumbnail_version
            workers.append(
                {
                    "hwnd": view.hwnd,
                    "status": view.status,
                    "thumbnail_version": view.thumbnail_version,
                    "thumbnail_b64": (
                        base64.b64encode(view.thumbnail_jpeg).decode()
                        if send and view.thumbnail_jpeg
                        else None
                    ),
                }
            )
        return {
            "agent": self.agent_id,
            "workers": workers,
            "legacy": await self.local.legacy_status(),
        }


def publish_from_thread(
    bus: Bus, loop: asyncio.AbstractEventLoop, channel: str
) -> Callable[[Event], None]:
    """For capture threads: put an event on the hub's channel without waiting."""

    def publish(event: Event) -> None:
        asyncio.run_coroutine_threadsafe(_publish_quietly(bus, channel, event.to_json()), loop)

    return publish


async def _publish_quietly(bus: Bus, channel: str, text: str) -> None:
    try:
        await bus.publish(channel, text)
    except BusUnavailable as exc:
        logger.warning("agent: event dropped, bus unavailable: %s", exc)


class RemoteCapture:
    """The API side: the same calls as LocalCapture, answered by the agent."""

    def __init__(self, bus: Bus, channels: Channels = Channels()) -> None:
        self.bus = bus
        self.channels = channels
        self.reply_channel = channels.replies(uuid.uuid4().hex)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._views: dict[int, WorkerView] = {}
        self._legacy: dict[str, Any] | None = None
        self._last_heartbeat = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()

    async def connect(self) -> None:
        """Listen for replies and agent state; returns once replies can arrive."""
        started = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(self.reply_channel, self._on_reply, started)),
            asyncio.create_task(self._listen(self.channels.state, self._on_state, None)),
        ]
        async with asyncio.timeout(10):
            await started.wait()

    async def close(self) -> None:
        await cancel_and_wait(*self._tasks)

    @property
    def agent_connected(self) -> bool:
        return time.monotonic() - self._last_heartbeat < AGENT_TIMEOUT_SECONDS

    async def _listen(
        self, channel: str, handle: Callable[[dict[str, Any]], None], started: asyncio.Event | None
    ) -> None:
        async with self.bus.subscribe(channel) as subscription:
            if started is not None:
                started.set()
            async for text in subscription:
                try:
                    handle(json.loads(text))
                except (ValueError, KeyError, TypeError):
                    logger.warning("remote capture: malformed message on %s", channel)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        future = self._pending.pop(str(reply["id"]), None)
        if future is not None and not future.done():
            future.set_result(reply)

    def _on_state(self, state: dict[str, Any]) -> None:
        self._last_heartbeat = time.monotonic()
        views: dict[int, WorkerView] = {}
        for item in state["workers"]:
            hwnd = int(item["hwnd"])
            previous = self._views.get(hwnd)
            thumbnail = (
                base64.b64decode(item["thumbnail_b64"])
                if item.get("thumbnail_b64")
                else (previous.thumbnail_jpeg if previous else None)
            )
            views[hwnd] = WorkerView(
                hwnd, item["status"], thumbnail, int(item["thumbnail_version"])
            )
        self._views = views
        self._legacy = state.get("legacy")

    async def _call(self, command: str, **args: Any) -> Any:
        if not self.agent_connected:
            raise AgentUnavailable()
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {
            "id": request_id,
            "reply_to": self.reply_channel,
            "command": command,
            "args": args,
        }
        try:
            await self.bus.publish(self.channels.commands, json.dumps(message))
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                reply = await future
        except (TimeoutError, BusUnavailable) as exc:
            raise AgentUnavailable() from exc
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise AgentError(int(reply.get("status", 500)), str(reply.get("detail", "")))
        return reply.get("result")

    async def list_windows(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("list_windows")
        return result

    async def start(
        self,
        hwnd: int,
        *,
        interval: float,
        keep_last_n: int,
        bring_to_foreground: bool | None,
        legacy: bool = False,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "start",
            hwnd=hwnd,
            interval=interval,
            keep_last_n=keep_last_n,
            bring_to_foreground=bring_to_foreground,
            legacy=legacy,
        )
        return result

    async def stop(self, hwnd: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stop", hwnd=hwnd)
        return result

    async def stop_legacy(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._call("stop_legacy")
        return result

    async def stop_all(self) -> list[int]:
        return [int(hwnd) for hwnd in await self._call("stop_all")]

    async def legacy_status(self) -> dict[str, Any] | None:
        if not self.agent_connected:
            raise AgentUnavailable()
        return self._legacy

    async def workers(self) -> list[WorkerView]:
        if not self.agent_connected:
            raise AgentUnavailable()
        return list(self._views.values())

    async def set_line_detect(self, enabled: bool) -> None:
        await self._call("set_line_detect", enabled=enabled)

    async def set_bring_to_foreground(self, enabled: bool) -> None:
        await self._call("set_bring_to_foreground", enabled=enabled)

    async def edit_global_crop(self, edges: Mapping[str, float]) -> Crop:
        return _crop_from(await self._call("edit_global_crop", edges=dict(edges)))

    async def edit_worker_crop(self, hwnd: int, edges: Mapping[str, float]) -> tuple[Crop, bool]:
        result = await self._call("edit_worker_crop", hwnd=hwnd, edges=dict(edges))
        return _crop_from(result["crop"]), bool(result["applied"])

    async def reload_bot_settings(self, hwnd: int) -> bool:
        return bool(await self._call("reload_bot_settings", hwnd=hwnd))


def event_from_thread(publish: Callable[[Event], None]) -> Callable[[str, dict[str, Any]], None]:
    return lambda kind, data: publish(Event(EventType(kind), data))
