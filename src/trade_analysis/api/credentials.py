"""API keys and the short-lived tokens browsers put in URLs instead of a key (pure functions).

A browser cannot set a header on a WebSocket or an `<img>`, so whatever proves
who it is goes in the URL, where proxies and access logs may keep it. A token
signed with the key and valid for minutes is what goes there: it proves the
same, expires on its own, and never reveals the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

TOKEN_TTL_SECONDS = 300
_PREFIX = "t1"


def key_matches(keys: Sequence[str], given: str) -> bool:
    """Constant-time against every key (no early exit), so timing reveals nothing."""
    given_bytes = given.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(key.encode(), given_bytes)
    return matched


def _signature(key: str, expires: int) -> str:
    digest = hmac.new(key.encode(), f"{_PREFIX}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(key: str, now: float, ttl: int = TOKEN_TTL_SECONDS) -> tuple[str, int]:
    """A token valid until `now + ttl` (unix seconds), and that expiry."""
    expires = int(now) + ttl
    return f"{_PREFIX}.{expires}.{_signature(key, expires)}", expires


def token_valid(keys: Sequence[str], token: str, now: float) -> bool:
    """Signed by one of the keys and not expired."""
    prefix, _, rest = token.partition(".")
    expires_text, _, signature = rest.partition(".")
    if prefix != _PREFIX or not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < now:
        return False
    valid = False
    for key in keys:
        valid |= hmac.compare_digest(_signature(key, expires), signature)
    return valid


def credential_valid(keys: Sequence[str], given: str, now: float) -> bool:
    """What a URL may carry: a key (as the seed's clients send) or a token."""
    return key_matches(keys, given) | token_valid(keys, given, now)
