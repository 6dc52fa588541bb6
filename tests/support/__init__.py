"""Helpers shared by test folders: X servers (Xvfb, a window manager) and real windows.

Use from a test folder's conftest.py::

    from tests.support.xvfb import xvfb_display  # noqa: F401  (a session fixture)
    from tests.support.windows import chart_windows  # noqa: F401
"""
