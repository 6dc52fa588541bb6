"""Waiting for a running system to reach a state, read through the doors a user has."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    read: Callable[[], T],
    accept: Callable[[T], bool],
    timeout: float = 30,
    what: str | None = None,
    interval: float = 0.2,
) -> T:
    """The first value of `read()` that `accept`s; AssertionError naming `what` (and the
    last value) after `timeout` s: generous, as a loaded machine is slow and a wrong
    answer is wrong at any speed."""
    deadline = time.monotonic() + timeout
    while not accept(value := read()):
        if time.monotonic() > deadline:
            waited = f" waiting for {what}" if what else ""
            raise AssertionError(f"not reached in {timeout}s{waited}; last value: {value!r}")
        time.sleep(interval)
    return value
