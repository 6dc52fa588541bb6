"""The workers view: every worker with its bot's row, read in one go however many run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from trade_analysis.analysis import CropSettings
from trade_analysis.application.capture import _with_bots
from trade_analysis.services import Services
from trade_analysis.wire import TargetWindow, WorkerState, WorkerStatus, WorkerView


def view(hwnd: int, bot: str | None) -> WorkerView:
    status = WorkerStatus(
        is_running=True,
        target_window=TargetWindow(hwnd=hwnd, title=f"chart {hwnd}"),
        interval=1.0,
        total_captures=0,
        successful_captures=0,
        failed_captures=0,
        runtime_seconds=0.0,
        output_folder=f"hwnd_{hwnd}",
        keep_last_n=5,
        last_result=None,
        bring_to_foreground=False,
        state=WorkerState.RUNNING,
        capture_method=None,
        last_error=None,
        max_lag_seconds=0.0,
        line_detect=True,
        crop=CropSettings(),
        bot=bot,
    )
    return WorkerView(hwnd, status, b"\xff\xd8 a jpeg", 1)


@contextmanager
def counting_statements(services: Services) -> Iterator[list[str]]:
    """The statements this thread runs (the service's own threads may write meanwhile)."""
    statements: list[str] = []
    owner = threading.get_ident()

    def count(*args: Any) -> None:
        if threading.get_ident() == owner:
            statements.append(args[2])

    event.listen(services.database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(services.database.engine, "before_cursor_execute", count)


def test_the_workers_view_reads_every_bot_at_once(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    for number in range(1, 5):
        order = {"ticker": f"T{number}", "price": "10", "direction": "buy", "bot": f"desk-{number}"}
        assert client.post("/manual_trade", json=order).status_code == 200

    with counting_statements(services) as two:
        single, _ = _with_bots(services, [view(1, "desk-1"), view(8, None)])
    with counting_statements(services) as four:
        many = _with_bots(services, [view(n, f"desk-{n}") for n in range(1, 4)] + [view(9, None)])

    assert len(four) == len(two)
    assert single.bot is not None and single.bot.bot == "desk-1"
    assert [worker.bot.bot if worker.bot else None for worker in many] == [
        "desk-1",
        "desk-2",
        "desk-3",
        None,
    ]
    assert [p.ticker for p in many[2].bot.positions] == ["T3"]  # type: ignore[union-attr]
    assert many[0].screenshot_b64 is not None
