"""Capture: list desktop windows and take their pixels as Frames.

Kept light on purpose: importing ``trade_analysis.capture`` loads no X11/Win32 code.
Use ``trade_analysis.capture.sources.open_source()`` to get a WindowSource.
"""

from __future__ import annotations

from trade_analysis.capture.frame import Frame, WindowInfo

__all__ = ["Frame", "WindowInfo"]
