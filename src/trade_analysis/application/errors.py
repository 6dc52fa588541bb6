"""What a use case refuses, whichever door asked."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """Values that are each well-formed but do not make sense together (422)."""
