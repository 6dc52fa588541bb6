"""Keys and browser tokens as values: a table of what is valid when."""

from __future__ import annotations

import pytest

from trade_analysis.api.credentials import (
    credential_valid,
    issue_token,
    key_matches,
    token_valid,
)

NOW = 1_800_000_000.0
KEYS = ("current-key", "previous-key")


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
    token, expires = issue_token(signed_by, NOW)
    assert expires == NOW + 300
    assert token_valid(KEYS, token, checked_at) is valid
    assert credential_valid(KEYS, token, checked_at) is valid


@pytest.mark.parametrize(
    "forged",
    ["", "t1", "t1..", "t1.9999999999999.x", "t2.1800000100.abc", "current-key"],
)
def test_malformed_or_forged_tokens_are_refused(forged: str) -> None:
    assert not token_valid(KEYS, forged, NOW)


def test_a_token_with_a_later_expiry_pasted_in_fails_its_signature() -> None:
    token, expires = issue_token("current-key", NOW)
    prefix, _, signature = token.split(".")
    extended = f"{prefix}.{expires + 86_400}.{signature}"
    assert not token_valid(KEYS, extended, NOW)


def test_a_url_may_carry_the_key_itself_as_the_seed_clients_do() -> None:
    assert credential_valid(KEYS, "previous-key", NOW)
    assert not credential_valid(KEYS, "nope", NOW)
