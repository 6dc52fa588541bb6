"""Keys and browser tokens as values: a table of what is valid when, and for what."""

from __future__ import annotations

import pytest

from trade_analysis.api.credentials import (
    NEVER,
    TokenScope,
    credential_expiry,
    credential_valid,
    issue_token,
    key_matches,
    token_valid,
)

NOW = 1_800_000_000.0
KEYS = ("current-key", "previous-key")
SOCKET, IMAGES, DOCS = TokenScope.SOCKET, TokenScope.IMAGES, TokenScope.DOCS


@pytest.mark.parametrize(
    ("given", "valid"),
    [
        ("current-key", True),
        ("previous-key", True),
        ("current-ke", False),
        ("current-keyx", False),
        ("", False),
        ("CURRENT-KEY", False),
    ],
)
def test_any_configured_key_matches(given: str, valid: bool) -> None:
    assert key_matches(KEYS, given) is valid


@pytest.mark.parametrize(
    ("signed_by", "checked_at", "valid"),
    [
        ("current-key", NOW, True),
        ("previous-key", NOW + 299, True),
        ("current-key", NOW + 300, True),
        ("current-key", NOW + 301, False),
        ("another-key", NOW, False),
    ],
)
def test_a_token_is_valid_for_minutes_when_signed_by_a_key(
    signed_by: str, checked_at: float, valid: bool
) -> None:
    token, expires = issue_token(signed_by, NOW, [SOCKET])
    assert expires == NOW + 300
    assert token_valid(KEYS, token, checked_at, SOCKET) is valid
    assert credential_valid(KEYS, token, checked_at, SOCKET) is valid


@pytest.mark.parametrize(
    ("issued_for", "used_for", "valid"),
    [
        ([SOCKET], SOCKET, True),
        ([SOCKET], IMAGES, False),
        ([SOCKET], DOCS, False),
        ([IMAGES], SOCKET, False),
        ([IMAGES], IMAGES, True),
        ([DOCS], IMAGES, False),
        ([DOCS], DOCS, True),
        ([SOCKET, IMAGES], IMAGES, True),
        ([SOCKET, IMAGES], SOCKET, True),
        ([SOCKET, IMAGES], DOCS, False),
    ],
)
def test_a_token_opens_only_its_scopes(
    issued_for: list[TokenScope], used_for: TokenScope, valid: bool
) -> None:
    token, _ = issue_token("current-key", NOW, issued_for)
    assert token_valid(KEYS, token, NOW, used_for) is valid


def test_a_token_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="scope"):
        issue_token("current-key", NOW, [])


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "t1",
        "t2...",
        "t2.socket.9999999999999.x",
        "t2.socket.1800000100.abc",
        "t1.1800000100.abc",
        "current-key",
    ],
)
def test_malformed_or_forged_tokens_are_refused(forged: str) -> None:
    assert not token_valid(KEYS, forged, NOW, SOCKET)


def test_a_token_with_a_later_expiry_pasted_in_fails_its_signature() -> None:
    token, expires = issue_token("current-key", NOW, [SOCKET])
    prefix, scopes, _, signature = token.split(".")
    extended = f"{prefix}.{scopes}.{expires + 86_400}.{signature}"
    assert not token_valid(KEYS, extended, NOW, SOCKET)


def test_a_token_with_more_scopes_pasted_in_fails_its_signature() -> None:
    token, _ = issue_token("current-key", NOW, [IMAGES])
    prefix, _, expiry, signature = token.split(".")
    widened = f"{prefix}.docs-images-socket.{expiry}.{signature}"
    assert not token_valid(KEYS, widened, NOW, SOCKET)
    assert not token_valid(KEYS, widened, NOW, IMAGES)


def test_a_url_may_carry_the_key_itself_as_the_seed_clients_do() -> None:
    assert credential_valid(KEYS, "previous-key", NOW, SOCKET)
    assert credential_expiry(KEYS, "previous-key", NOW, DOCS) == NEVER
    assert not credential_valid(KEYS, "nope", NOW, SOCKET)
