"""API keys and the short-lived tokens browsers put in URLs instead of a key (pure functions).

A browser cannot set a header on a WebSocket or an `<img>`, so whatever proves
who it is goes in the URL, where proxies and access logs may keep it. A token
signed with the key and valid for minutes is what goes there: it proves the
same, expires on its own, and never reveals the key.

A token is `t2.<scopes>.<expires>.<signature>`. Its lifetime is given once, by
whoever holds the key; nothing a token opens issues another token, so a
leaked one dies when it expires. Its scopes say what it opens (`socket`: the
live streams; `images`: uploads and window previews; `docs`: the API's
document), and the signature covers them, so a token for images cannot open
the socket or the docs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from enum import StrEnum

TOKEN_TTL_SECONDS = 300
_PREFIX = "t2"
_SCOPE_SEPARATOR = "-"  # URL-safe: `+` would arrive as a space
NEVER = float("inf")


class TokenScope(StrEnum):
    SOCKET = "socket"
    IMAGES = "images"
    DOCS = "docs"


def key_matches(keys: Sequence[str], given: str) -> bool:
    """Constant-time against every key (no early exit), so timing reveals nothing."""
    given_bytes = given.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(key.encode(), given_bytes)
    return matched


def _signature(key: str, scopes: str, expires: int) -> str:
    message = f"{_PREFIX}.{scopes}.{expires}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(
    key: str, now: float, scopes: Iterable[TokenScope], ttl: int = TOKEN_TTL_SECONDS
) -> tuple[str, int]:
    """A token for `scopes`, valid until `now + ttl` (unix seconds), and that expiry."""
    names = _SCOPE_SEPARATOR.join(sorted({TokenScope(scope).value for scope in scopes}))
    if not names:
        raise ValueError("a token needs at least one scope")
    expires = int(now) + ttl
    return f"{_PREFIX}.{names}.{expires}.{_signature(key, names, expires)}", expires


def token_expiry(keys: Sequence[str], token: str, now: float, scope: TokenScope) -> int | None:
    """When the token expires, if it is signed by one of the keys, unexpired and for `scope`."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _PREFIX:
        return None
    _, names, expires_text, signature = parts
    if not expires_text.isdigit() or len(expires_text) > 12:
        return None
    expires = int(expires_text)
    if expires < now:
        return None
    valid = False
    for key in keys:
        valid |= hmac.compare_digest(_signature(key, names, expires), signature)
    if not valid or scope.value not in names.split(_SCOPE_SEPARATOR):
        return None
    return expires


def token_valid(keys: Sequence[str], token: str, now: float, scope: TokenScope) -> bool:
    """Signed by one of the keys, not expired, and for `scope`."""
    return token_expiry(keys, token, now, scope) is not None


def credential_expiry(
    keys: Sequence[str], given: str, now: float, scope: TokenScope
) -> float | None:
    """What a URL may carry: a key (as the seed's clients send; `NEVER` expires) or a token
    for `scope` (its expiry); None when it is neither."""
    if key_matches(keys, given):
        return NEVER
    return token_expiry(keys, given, now, scope)


def credential_valid(keys: Sequence[str], given: str, now: float, scope: TokenScope) -> bool:
    return credential_expiry(keys, given, now, scope) is not None
