"""The coalescer: a burst of changes runs the job once or twice, and the last change is never
missed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from trade_analysis.live.coalesce import Coalescer

pytestmark = pytest.mark.anyio


class Counter:
    def __init__(self) -> None:
        self.runs = 0
        self.seen: list[int] = []
        self.value = 0

    async def job(self) -> None:
        self.runs += 1
        self.seen.append(self.value)


async def settle(seconds: float = 0.2) -> None:
    await asyncio.sleep(seconds)


async def test_a_burst_of_pokes_runs_the_job_at_most_twice_and_sees_the_last_change() -> None:
    counter = Counter()
    coalescer = Coalescer(counter.job, interval=0.05)
    coalescer.start()
    try:
        for value in range(1, 1001):
            counter.value = value
            coalescer.poke()
        await settle()
        assert 1 <= counter.runs <= 2
        assert counter.seen[-1] == 1000
    finally:
        await coalescer.stop()


async def test_a_poke_after_a_quiet_spell_runs_the_job_again() -> None:
    counter = Counter()
    coalescer = Coalescer(counter.job, interval=0.01)
    coalescer.start()
    try:
        coalescer.poke()
        await settle(0.1)
        counter.value = 7
        coalescer.poke()
        await settle(0.1)
        assert counter.seen == [0, 7]
    finally:
        await coalescer.stop()


async def test_pokes_from_other_threads_reach_the_loop() -> None:
    counter = Counter()
    coalescer = Coalescer(counter.job, interval=0.01)
    coalescer.start()
    try:
        poker = threading.Thread(target=coalescer.poke_threadsafe)
        poker.start()
        poker.join()
        await settle(0.1)
        assert counter.runs == 1
    finally:
        await coalescer.stop()


async def test_a_failing_job_does_not_stop_later_runs() -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("database went away")

    coalescer = Coalescer(flaky, interval=0.01)
    coalescer.start()
    try:
        coalescer.poke()
        await settle(0.1)
        coalescer.poke()
        await settle(0.1)
        assert calls == [0, 1]
    finally:
        await coalescer.stop()
