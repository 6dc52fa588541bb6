"""Who may talk to the service at all, checked before any route runs (pure ASGI).

- **Host.** A web page can point a name of its own at 127.0.0.1 (DNS
  rebinding) and then call the service as if it were its own site. A request
  naming a host that is neither loopback nor in ALLOWED_HOSTS gets a 421:
  always while the public default key is in use, and with a key of your own
  once ALLOWED_HOSTS names any host.
- **Origin.** Browsers let any page open a WebSocket anywhere and say where
  the page came from only in `Origin`. A socket whose `Origin` is neither the
  dashboard's own (the origin the request was sent to) nor among
  DEV_ALLOW_ORIGINS is refused before it is accepted (the client sees a 403).
  Clients that are not browsers send no `Origin` and are let through to the
  key check.
- **How many sockets.** At most MAX_WEBSOCKET_CLIENTS open at once in this
  process; one more is accepted only to be closed with 1013 (try again later).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from trade_analysis.config import Settings, is_loopback

logger = logging.getLogger(__name__)

MISDIRECTED = 421
TRY_AGAIN_LATER = 1013
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


def host_name(host: str) -> str:
    """`Example.com:8000` -> `example.com`; `[::1]:8000` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _with_port(netloc: str, scheme: str) -> str:
    """`example.com` -> `example.com:443` for https: host and explicit port, as compared."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        end = netloc.find("]") + 1
        name, rest = netloc[:end], netloc[end:]
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, colon, port = netloc.rpartition(":")
        if not colon or not port.isdigit():
            name, port = netloc, ""
    return f"{name}:{port or _DEFAULT_PORTS.get(scheme, '')}"


class HostPolicy:
    """Which `Host` and `Origin` values this service answers."""

    def __init__(self, settings: Settings) -> None:
        self.hosts = {host_name(host) for host in settings.allowed_hosts}
        self.enforce_hosts = settings.uses_default_key or bool(self.hosts)
        self.any_origin = settings.any_origin
        self.origins = {origin.strip().rstrip("/").lower() for origin in settings.dev_allow_origins}

    def host_allowed(self, host: str | None) -> bool:
        if host is None or not self.enforce_hosts:
            return True  # HTTP/1.0 clients without Host are not browsers
        name = host_name(host)
        return is_loopback(name) or name in self.hosts or "*" in self.hosts

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self.any_origin:
            return True
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
            return False  # `null` (a sandboxed frame, a file) is nobody's dashboard
        for scheme in ("http", "https"):  # behind a TLS proxy the scheme is not known here
            if _with_port(parts.netloc, parts.scheme) == _with_port(host, scheme):
                return True
        return False


class GateMiddleware:
    """Host for every request, Origin and the connection count for every WebSocket."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = HostPolicy(settings)
        self.max_sockets = settings.max_websocket_clients
        self.open_sockets = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if not self.policy.host_allowed(host):
            logger.warning("refused a request for host %r (not in ALLOWED_HOSTS)", host)
            await self._refuse(scope, receive, send, f"host {host!r} is not served here")
            return
        if kind == "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if not self.policy.origin_allowed(origin, host):
            logger.warning("refused a WebSocket from origin %r", origin)
            await send({"type": "websocket.close", "code": 1008})  # before accept: a 403
            return
        if self.open_sockets >= self.max_sockets:
            await self._too_many(receive, send)
            return
        self.open_sockets += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open_sockets -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        if scope["type"] == "http":
            detail += ": add it to ALLOWED_HOSTS (with a key of your own)"
            await JSONResponse({"detail": detail}, MISDIRECTED)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})

    async def _too_many(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        reason = f"more than MAX_WEBSOCKET_CLIENTS ({self.max_sockets}) open; try again later"
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": reason})
