"""The bus channel names, declared once for the hub, the agent and its remote control."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "trade-analysis"


@dataclass(frozen=True)
class Channels:
    """Bus channel names under one prefix, so deployments can share a Redis server."""

    prefix: str = DEFAULT_PREFIX

    @property
    def events(self) -> str:
        """Live events for every WebSocket client of every API process."""
        return f"{self.prefix}.events"

    @property
    def commands(self) -> str:
        """Capture commands for the agent."""
        return f"{self.prefix}.capture.commands"

    @property
    def state(self) -> str:
        """The agent's announcements: its workers and their thumbnails."""
        return f"{self.prefix}.capture.state"

    @property
    def state_requests(self) -> str:
        """Asks for an announcement now, from a process that has not heard one yet."""
        return f"{self.prefix}.capture.state.requests"

    def replies(self, listener: str) -> str:
        """Where the agent answers one API process's commands."""
        return f"{self.prefix}.capture.replies.{listener}"
