"""`python -m trade_analysis` under cProfile in every thread (bench_capture_cpu --profile).

cProfile (Python 3.11) profiles only the thread that enables it: each thread enables its
own profiler on its first event (``threading.setprofile``), timed by the thread's own
CPU clock (``time.thread_time``), so waits for the GIL, locks and sockets cost nothing.
When the service stops, the profiles are written to ``$PROFILE_DIR``: one ``.prof`` per
thread group (capture workers together, the main thread, the others by name), readable
with ``pstats``.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import re
import runpy
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

PROFILES: list[tuple[str, cProfile.Profile]] = []


def _group(name: str) -> str:
    return re.sub(r"[-_]?(0x[0-9a-f]+|\d+)(\s*\(.*\))?$", "", name) or name


def _start(_frame: FrameType, _event: str, _arg: Any) -> None:
    profile = cProfile.Profile(time.thread_time)
    PROFILES.append((_group(threading.current_thread().name), profile))
    profile.enable()  # replaces this hook for the thread


def _dump() -> None:
    folder = Path(os.environ["PROFILE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[cProfile.Profile]] = {}
    for name, profile in PROFILES:
        groups.setdefault(name, []).append(profile)
    import pstats

    for name, profiles in groups.items():
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.prof")


if __name__ == "__main__":
    main_profile = cProfile.Profile(time.thread_time)
    PROFILES.append(("main", main_profile))
    threading.setprofile(_start)
    atexit.register(_dump)
    sys.argv = ["trade_analysis", *sys.argv[1:]]
    main_profile.enable()
    try:
        runpy.run_module("trade_analysis", run_name="__main__", alter_sys=True)
    finally:
        main_profile.disable()
