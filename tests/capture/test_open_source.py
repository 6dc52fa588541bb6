"""open_source() picks the platform source or says precisely what is missing."""

from __future__ import annotations

import sys

import pytest

from trade_analysis.capture.sources import CaptureUnavailable, open_source

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="X11 selection rules")


def test_without_display_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(CaptureUnavailable) as caught:
        open_source()
    assert str(caught.value) == "no X display: set DISPLAY, or run capture on the desktop"


def test_on_wayland_without_xwayland_it_hints_at_the_way_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    with pytest.raises(CaptureUnavailable, match=r"no X display.*XWayland"):
        open_source()


def test_an_unreachable_server_is_reported_with_its_name_and_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(CaptureUnavailable, match=r"cannot open X display ':4097'"):
        open_source(":4097")


def test_capture_package_import_is_light() -> None:
    """Importing the capture package must not load python-xlib or the Win32 layer."""
    import subprocess

    code = (
        "import sys, trade_analysis.capture, trade_analysis.capture.sources;"
        "heavy = ('Xlib', 'mss', 'trade_analysis.capture.sources.win32_ctypes');"
        "bad = [m for m in heavy if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
