"""Capture tests use the Xvfb and window fixtures of tests/conftest.py."""
