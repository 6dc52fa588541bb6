"""Capture in one place: the agent process and the API's remote control of it.

With several API processes, each holding its own workers would split the
registry, so capture runs in exactly one `trade-analysis agent`, on the
desktop. It reaches the server only through the bus and the database:

* commands: a `CommandMessage` `{id, reply_to, command, args}` on `Channels.commands`,
  `command` a name from capture/commands.py and `args` its model as JSON; the agent
  answers a `CommandReply` `{id, ok, result}` or `{id, ok: false, status, detail}` on
  `reply_to`, `status` being the HTTP status the error carries (capture/errors.py);
* state: every second the agent publishes an `AgentState` on `Channels.state`
  (thumbnails when they changed, and all of them every few seconds for late joiners);
  any message on `Channels.state_requests` has it publish a full one at once, which an
  API process asks for when it starts or has not heard the agent lately, rather than
  answer 503 until the next heartbeat;
* events (`trade`, `observation`, `frame`, `worker`, `summary`) go on the hub's channel,
  so every client of every API process sees them; the ledger is shared SQL.

Every message is a model, validated with `model_validate_json` where it arrives.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from trade_analysis.aio import cancel_and_wait
from trade_analysis.capture.commands import COMMANDS, Command
from trade_analysis.capture.control import CaptureControl, WorkerView
from trade_analysis.capture.errors import AgentError, AgentUnavailable, CaptureError, http_status
from trade_analysis.live import Bus, BusUnavailable, Channels
from trade_analysis.wire import WorkerStatus

logger = logging.getLogger(__name__)

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT")


HEARTBEAT_SECONDS = 1.0
FULL_STATE_EVERY = 5
AGENT_TIMEOUT_SECONDS = 4.0
# How long a request waits for the agent to answer an ask for its state; an ask that
# went unanswered is not repeated for AGENT_TIMEOUT_SECONDS, so with no agent running
# capture requests fail at once rather than each waiting.
STATE_ASK_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 10.0
INVALID_ARGUMENTS = 422


class CommandMessage(BaseModel):
    id: str
    reply_to: str
    command: str
    args: dict[str, Any] = Field(default_factory=dict)


class CommandReply(BaseModel):
    id: str
    ok: bool
    result: Any = None
    status: int = 500
    detail: str = ""


class WorkerState(BaseModel):
    hwnd: int
    status: WorkerStatus
    thumbnail_version: int
    thumbnail_b64: str | None


class AgentState(BaseModel):
    agent: str
    workers: list[WorkerState]
    legacy: WorkerStatus | None


class Agent:
    """Runs capture workers here; serves commands and publishes state over the bus."""

    def __init__(self, bus: Bus, local: CaptureControl, channels: Channels = Channels()) -> None:
        """`local` is this process's capture; its owner closes it, after `run` returns."""
        self.bus = bus
        self.channels = channels
        self.local = local
        self.agent_id = uuid.uuid4().hex[:12]
        self._sent_versions: dict[int, int] = {}
        self._beats = 0
        self._serving: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        async with (
            self.bus.subscribe(self.channels.commands) as commands,
            self.bus.subscribe(self.channels.state_requests) as asks,
        ):
            beating = asyncio.create_task(self._heartbeat(), name="agent-heartbeat")
            answering = asyncio.create_task(self._answer_asks(asks), name="agent-state-asks")
            logger.info("capture agent %s listening on the bus", self.agent_id)
            try:
                async for text in commands:
                    task = asyncio.create_task(self._serve(text))
                    self._serving.add(task)
                    task.add_done_callback(self._serving.discard)
            finally:
                await cancel_and_wait(beating, answering)

    async def _answer_asks(self, asks: AsyncIterable[str]) -> None:
        """A full state at once for an API process that has not heard one yet."""
        async for _ in asks:
            with contextlib.suppress(BusUnavailable):
                await self._publish_state(full=True)

    async def _serve(self, text: str) -> None:
        try:
            message = CommandMessage.model_validate_json(text)
            command = COMMANDS[message.command]
        except (ValidationError, KeyError):
            logger.warning("agent: ignoring malformed command %.200r", text)
            return
        reply = await self._answer(message, command)
        with contextlib.suppress(BusUnavailable):
            await self.bus.publish(message.reply_to, reply.model_dump_json())

    async def _answer(self, message: CommandMessage, command: Command[Any, Any]) -> CommandReply:
        try:
            arguments = command.model.model_validate(message.args)
        except ValidationError as exc:
            detail = f"invalid arguments for {command.name}: {exc}"
            return CommandReply(id=message.id, ok=False, status=INVALID_ARGUMENTS, detail=detail)
        try:
            result = await self.local.run(command, arguments)
        except CaptureError as exc:
            return CommandReply(id=message.id, ok=False, status=http_status(exc), detail=str(exc))
        except Exception as exc:
            logger.exception("agent: command %s failed", command.name)
            return CommandReply(id=message.id, ok=False, status=500, detail=str(exc))
        answer = command.result.dump_python(result, mode="json")
        return CommandReply(id=message.id, ok=True, result=answer)

    async def _heartbeat(self) -> None:
        while True:
            with contextlib.suppress(BusUnavailable):
                self._beats += 1
                await self._publish_state(full=self._beats % FULL_STATE_EVERY == 1)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _publish_state(self, *, full: bool) -> None:
        state = await self._state(full)
        await self.bus.publish(self.channels.state, state.model_dump_json())

    async def _state(self, full: bool) -> AgentState:
        workers = []
        for view in await self.local.workers():
            changed = self._sent_versions.get(view.hwnd) != view.thumbnail_version
            send = (full or changed) and view.thumbnail_jpeg is not None
            self._sent_versions[view.hwnd] = view.thumbnail_version
            workers.append(
                WorkerState(
                    hwnd=view.hwnd,
                    status=view.status,
                    thumbnail_version=view.thumbnail_version,
                    thumbnail_b64=(
                        base64.b64encode(view.thumbnail_jpeg).decode()
                        if send and view.thumbnail_jpeg
                        else None
                    ),
                )
            )
        return AgentState(
            agent=self.agent_id, workers=workers, legacy=await self.local.legacy_status()
        )


class RemoteCapture:
    """The API side: the same `CaptureControl` as LocalCapture, answered by the agent."""

    def __init__(self, bus: Bus, channels: Channels = Channels()) -> None:
        self.bus = bus
        self.channels = channels
        self.reply_channel = channels.replies(uuid.uuid4().hex)
        self._pending: dict[str, asyncio.Future[CommandReply]] = {}
        self._views: dict[int, WorkerView] = {}
        self._legacy: WorkerStatus | None = None
        self._last_heartbeat = 0.0
        self._heard = asyncio.Event()
        self._asked_at = -AGENT_TIMEOUT_SECONDS
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        """Listen for replies and agent state, then ask the agent for its state now.

        Returns once replies and state can arrive (not waiting for the answer).
        """
        replies, states = asyncio.Event(), asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(self.reply_channel, self._on_reply, replies)),
            asyncio.create_task(self._listen(self.channels.state, self._on_state, states)),
        ]
        async with asyncio.timeout(10):
            await replies.wait()
            await states.wait()
        await self._ask_state()

    async def _ask_state(self) -> None:
        self._asked_at = time.monotonic()
        self._heard.clear()
        with contextlib.suppress(BusUnavailable):
            await self.bus.publish(self.channels.state_requests, self.reply_channel)

    async def _require_agent(self) -> None:
        """Return once the agent has been heard lately; ask it once if it has not.

        A process that started after the agent's last heartbeat would otherwise answer
        503 until the next one.
        """
        if self.agent_connected:
            return
        if time.monotonic() - self._asked_at >= AGENT_TIMEOUT_SECONDS:
            await self._ask_state()
        if not self._heard.is_set():
            remaining = self._asked_at + STATE_ASK_SECONDS - time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, remaining)):
                    await self._heard.wait()
        if not self.agent_connected:
            raise AgentUnavailable()

    async def close(self) -> None:
        await cancel_and_wait(*self._tasks)

    @property
    def agent_connected(self) -> bool:
        return time.monotonic() - self._last_heartbeat < AGENT_TIMEOUT_SECONDS

    async def _listen(
        self, channel: str, handle: Callable[[str], None], started: asyncio.Event | None
    ) -> None:
        async with self.bus.subscribe(channel) as subscription:
            if started is not None:
                started.set()
            async for text in subscription:
                try:
                    handle(text)
                except ValidationError:
                    logger.warning("remote capture: malformed message on %s", channel)

    def _on_reply(self, text: str) -> None:
        reply = CommandReply.model_validate_json(text)
        future = self._pending.pop(reply.id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    def _on_state(self, text: str) -> None:
        state = AgentState.model_validate_json(text)
        self._last_heartbeat = time.monotonic()
        self._heard.set()
        views: dict[int, WorkerView] = {}
        for item in state.workers:
            previous = self._views.get(item.hwnd)
            thumbnail = (
                base64.b64decode(item.thumbnail_b64)
                if item.thumbnail_b64
                else (previous.thumbnail_jpeg if previous else None)
            )
            views[item.hwnd] = WorkerView(item.hwnd, item.status, thumbnail, item.thumbnail_version)
        self._views = views
        self._legacy = state.legacy

    async def run(self, command: Command[RequestT, ResultT], arguments: RequestT) -> ResultT:
        await self._require_agent()
        message = CommandMessage(
            id=uuid.uuid4().hex,
            reply_to=self.reply_channel,
            command=command.name,
            args=arguments.model_dump(mode="json"),
        )
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[message.id] = future
        try:
            await self.bus.publish(self.channels.commands, message.model_dump_json())
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                reply = await future
        except (TimeoutError, BusUnavailable) as exc:
            raise AgentUnavailable() from exc
        finally:
            self._pending.pop(message.id, None)
        if not reply.ok:
            raise AgentError(reply.status, reply.detail)
        return command.result.validate_python(reply.result)

    async def legacy_status(self) -> WorkerStatus | None:
        await self._require_agent()
        return self._legacy

    async def workers(self) -> list[WorkerView]:
        await self._require_agent()
        return list(self._views.values())
