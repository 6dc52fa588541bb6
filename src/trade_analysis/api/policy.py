"""The content policy of every page the service serves (the dashboard and the API docs)."""

from __future__ import annotations

from starlette.responses import Response

# A page loads only this server's files, images it is sent inline, and this server's API.
DASHBOARD_POLICY = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def protect(response: Response, style_nonce: str | None = None) -> None:
    """The policy; with `style_nonce`, for a page drawn by a library that writes its own
    styles (Redoc), also `<style>` elements carrying that nonce and fonts it embeds."""
    policy = DASHBOARD_POLICY
    if style_nonce is not None:
        policy += f"; style-src 'self' 'nonce-{style_nonce}'; font-src 'self' data:"
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
