"""What a use case refuses, whichever door asked."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """Values that are each well-formed but do not make sense together (422)."""


class InvalidField(ValueError):
    """One field of a request that turned out wrong once read (an image that does not
    decode, a crop that leaves no pixels): 422 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
