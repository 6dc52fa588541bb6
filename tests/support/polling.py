"""Waiting for a running server to reach a state, read through the doors a user has."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(read: Callable[[], T], accept: Callable[[T], bool], timeout: float = 30) -> T:
    """The first value of `read()` that `accept`s; AssertionError with the last one after
    `timeout` s (generous: a loaded machine is slow, a wrong answer is wrong at any speed)."""
    deadline = time.monotonic() + timeout
    while not accept(value := read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s; last value: {value!r}")
        time.sleep(0.2)
    return value
