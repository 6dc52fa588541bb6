"""Capture commands answer alike in this process and through the agent over the bus:
one table, the same models validating the arguments where they arrive, the same errors
with the same HTTP status."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from trade_analysis.analysis import CropSettings
from trade_analysis.capture import agent as agent_module
from trade_analysis.capture import commands
from trade_analysis.capture.agent import Agent, CommandMessage, RemoteCapture
from trade_analysis.capture.control import LocalCapture
from trade_analysis.capture.errors import (
    AgentError,
    AgentUnavailable,
    CaptureError,
    WindowGone,
    http_status,
)
from trade_analysis.capture.frame import Frame, WindowInfo
from trade_analysis.capture.manager import CaptureManager
from trade_analysis.capture.schemas import (
    CropEdges,
    NoArguments,
    StartRequest,
    StopRequest,
    WorkerCropEdges,
)
from trade_analysis.capture.sink import ReadingSink
from trade_analysis.db.migrate import upgrade
from trade_analysis.db.session import Database
from trade_analysis.live import Channels, MemoryBus
from trade_analysis.trading.ledger import Ledger

pytestmark = pytest.mark.anyio
NONE = NoArguments()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class EmptyDesktop:
    """A desktop with one window that is not the one asked for."""

    def list_windows(self) -> list[WindowInfo]:
        return [WindowInfo(1, "AAPL 1 - chart", "demo", 0, 0, 100, 100)]

    def capture(self, hwnd: int) -> Frame:
        if hwnd != 1:
            raise WindowGone(hwnd)
        pixels = np.full((100, 320, 3), 255, np.uint8)
        pixels[40:60, :] = (0, 200, 0)
        return Frame(hwnd, "AAPL 1 - chart", pixels, datetime(2026, 3, 2, tzinfo=UTC), "screen")

    def close(self) -> None:
        return None


@contextlib.asynccontextmanager
async def local_capture(database_url: str, tmp_path: Path) -> AsyncIterator[LocalCapture]:
    """This process's capture of the one-window desktop above."""
    upgrade(database_url)
    database = Database(database_url)
    manager = CaptureManager(
        Ledger(database),
        tmp_path / "screenshots",
        ReadingSink(Ledger(database)),
        source_factory=EmptyDesktop,  # type: ignore[arg-type]
    )
    local = LocalCapture(manager)
    try:
        yield local
    finally:
        await local.close()
        database.dispose()


@pytest.fixture
async def captures(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[LocalCapture, RemoteCapture]]:
    """This process's capture, and the same capture reached through an agent on a bus."""
    async with local_capture(database_url, tmp_path) as local, MemoryBus() as bus:
        channels = Channels("commands-test")
        serving = asyncio.create_task(Agent(bus, local, channels).run())
        remote = RemoteCapture(bus, channels)
        await remote.connect()
        for _ in range(250):  # the agent's first heartbeat, within five seconds
            if remote.agent_connected:
                break
            await asyncio.sleep(0.02)
        try:
            yield local, remote
        finally:
            await remote.close()
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)


async def failure(run: Awaitable[object]) -> tuple[int, str]:
    try:
        await run
    except CaptureError as exc:
        return http_status(exc), str(exc)
    raise AssertionError("the command did not fail")


async def test_results_are_the_same_in_process_and_through_the_agent(captures) -> None:
    local, remote = captures
    for capture in (local, remote):
        (window,) = await capture.run(commands.list_windows, NONE)
        assert (window.hwnd, window.title) == (1, "AAPL 1 - chart")
        assert await capture.run(commands.stop_all, NONE) == []
        assert await capture.run(commands.stop_legacy, NONE) is None
        edit = WorkerCropEdges(hwnd=7, edges=CropEdges(left=0.1))
        edited = await capture.run(commands.edit_worker_crop, edit)
        assert (edited.applied, edited.crop.left, edited.crop.right) == (False, 0.1, 0.16)
        assert await capture.run(commands.reload_bot_settings, StopRequest(hwnd=7)) is False
        preview = base64.b64decode(await capture.run(commands.preview_window, StopRequest(hwnd=1)))
        shown = cv2.imdecode(np.frombuffer(preview, np.uint8), cv2.IMREAD_COLOR)
        assert shown.shape[:2] == (50, 160)  # a window's preview is 160 px wide


async def test_errors_carry_the_same_status_and_detail_both_ways(captures) -> None:
    local, remote = captures
    for run, status in (
        (lambda capture: capture.run(commands.stop, StopRequest(hwnd=12345)), 404),
        (lambda capture: capture.run(commands.start, StartRequest(hwnd=99)), 400),
        (lambda capture: capture.run(commands.preview_window, StopRequest(hwnd=99)), 400),
        # Each edge is in range, but together they leave no pixels.
        (lambda capture: capture.run(commands.edit_global_crop, CropEdges(left=0.9)), 422),
    ):
        here = await failure(run(local))
        there = await failure(run(remote))
        assert here == there
        assert here[0] == status


async def test_the_agent_validates_arguments_with_the_commands_model(captures) -> None:
    _, remote = captures
    reply_to = remote.channels.replies("raw-test")
    async with remote.bus.subscribe(reply_to) as replies:
        message = CommandMessage(id="1", reply_to=reply_to, command="stop", args={"hwnd": -5})
        await remote.bus.publish(remote.channels.commands, message.model_dump_json())
        async with asyncio.timeout(5):
            reply = json.loads(await replies.get())
    assert (reply["ok"], reply["status"]) == (False, 422)
    assert "hwnd" in reply["detail"]


async def test_a_remote_error_is_an_agent_error_with_the_status_it_carried(captures) -> None:
    _, remote = captures
    with pytest.raises(AgentError) as raised:
        await remote.run(commands.stop, StopRequest(hwnd=4))
    assert raised.value.status == 404


async def test_a_reading_through_the_agent_names_the_window_it_lacks(captures) -> None:
    _, remote = captures
    for command in (commands.reading, commands.frame_png):
        with pytest.raises(AgentError, match="window 4") as raised:
            await remote.run(command, StopRequest(hwnd=4))
        assert raised.value.status == 404


def test_every_command_is_in_the_one_table_under_its_name() -> None:
    declared = [value for value in vars(commands).values() if isinstance(value, commands.Command)]
    assert {command.name: command for command in declared} == commands.COMMANDS
    assert len(commands.COMMANDS) == 19


def test_command_models_read_query_parameters_as_text() -> None:
    """So `POST /start_multi?hwnd=1&interval=1` can be parsed into the same models."""
    start = StartRequest.model_validate({"hwnd": "1", "interval": "1", "bring_to_foreground": "1"})
    assert (start.hwnd, start.interval, start.bring_to_foreground) == (1, 1.0, True)
    assert CropSettings.model_validate({"left": "0.1", "right": "0.2"}).to_crop().right == 0.2


async def test_a_process_that_missed_the_agents_announcement_asks_for_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API process started after the agent's last heartbeat asks for its state and is
    answered at once, rather than answering 503 until the next heartbeat."""
    monkeypatch.setattr(agent_module, "HEARTBEAT_SECONDS", 3600.0)  # no second heartbeat
    channels = Channels("ask-test")
    async with local_capture(database_url, tmp_path) as local, MemoryBus() as bus:
        async with bus.subscribe(channels.state) as announcements:
            serving = asyncio.create_task(Agent(bus, local, channels).run())
            async with asyncio.timeout(10):
                await anext(aiter(announcements))  # the agent's first and only heartbeat
        remote = RemoteCapture(bus, channels)
        await remote.connect()
        try:
            (window,) = await remote.run(commands.list_windows, NONE)
            assert window.hwnd == 1
            assert await remote.workers() == []
        finally:
            await remote.close()
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)


async def test_with_no_agent_capture_is_unavailable_after_one_unanswered_ask() -> None:
    channels = Channels("no-agent-test")
    async with MemoryBus() as bus, bus.subscribe(channels.state_requests) as asks:
        remote = RemoteCapture(bus, channels)
        await remote.connect()
        try:
            for _ in range(3):
                with pytest.raises(AgentUnavailable):
                    await remote.workers()
            with pytest.raises(AgentUnavailable):
                await remote.run(commands.list_windows, NONE)
        finally:
            await remote.close()
        await bus.publish(channels.state_requests, "end")
        seen = []
        async with asyncio.timeout(10):
            async for text in asks:
                if text == "end":
                    break
                seen.append(text)
        # One ask when it connected; the requests that followed did not ask again.
        assert seen == [remote.reply_channel]
