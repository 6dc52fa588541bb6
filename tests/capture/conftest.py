"""Fixtures for capture tests: Xvfb servers (bare and with openbox) and real windows."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/support is shared between test folders; make `tests.support` importable even when
# pytest did not put the repository root on sys.path (no `pythonpath` ini setting yet).
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.windows import chart_windows  # noqa: E402
from tests.support.xvfb import wm_display, xvfb_display  # noqa: E402

__all__ = ["chart_windows", "wm_display", "xvfb_display"]
