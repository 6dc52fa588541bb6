"""Which bot a window binds to: a table of cases, and properties of names and keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trade_analysis.api.schemas import BOT_PATTERN
from trade_analysis.trading.binding import (
    BotCandidate,
    WindowIdentity,
    choose_bot,
    new_bot_key,
    unique_name,
)

CHROME = WindowIdentity.of("chrome", "TSLA $250.12 | Robinhood")
OLD = datetime(2026, 1, 1, tzinfo=UTC)
NEW = datetime(2026, 1, 2, tzinfo=UTC)


def bot(key: str, process: str | None = "chrome", stem: str | None = "TSLA | Robinhood", **kw):
    return BotCandidate(key, process, stem, kw.get("hwnd"), kw.get("updated_at"))


@pytest.mark.parametrize(
    ("candidates", "busy", "chosen"),
    [
        ([], (), None),
        # The window's price moved: the same stem, the same bot.
        ([bot("tsla")], (), "tsla"),
        # Another process showing the same title is another window's bot.
        ([bot("tsla", process="firefox")], (), None),
        # A bot migrated from window-id keys knows no process: it matches on the stem.
        ([bot("tsla", process=None)], (), "tsla"),
        ([bot("tsla", process=None), bot("exact")], (), "exact"),
        # Held by another running window: the second window gets a bot of its own.
        ([bot("tsla", hwnd=1)], {"tsla"}, None),
        # Already bound to this window (settings saved before capture started).
        ([bot("tsla"), bot("7", process=None, stem=None, hwnd=7)], (), "7"),
        # Bound to this window id, but another chart's bot: the id was reused.
        ([bot("old", stem="NVDA | Robinhood", hwnd=7)], (), None),
        # Among several: one without a window first, then the most recently updated.
        ([bot("a", hwnd=3, updated_at=NEW), bot("b", updated_at=OLD)], (), "b"),
        ([bot("a", updated_at=OLD), bot("b", updated_at=NEW)], (), "b"),
    ],
)
def test_choose_bot(candidates: list[BotCandidate], busy: set[str], chosen: str | None) -> None:
    assert choose_bot(candidates, 7, CHROME, busy) == chosen


def test_default_name_is_stem_and_process() -> None:
    assert CHROME.default_name() == "TSLA | Robinhood (chrome)"
    assert WindowIdentity.of(None, "123.4").default_name() == "untitled window"


def test_a_second_bot_on_one_chart_is_numbered() -> None:
    name = CHROME.default_name()
    assert unique_name(name, {name}) == f"{name} #2"
    assert unique_name(name, {name, f"{name} #2"}) == f"{name} #3"
    assert new_bot_key(name, set()) == "tsla-robinhood-chrome"
    assert new_bot_key(name, {"tsla-robinhood-chrome"}) == "tsla-robinhood-chrome-2"


@given(st.text(max_size=300), st.sets(st.text(max_size=70), max_size=5))
def test_a_new_key_is_a_valid_unused_key_that_never_reads_as_a_window(
    name: str, taken: set[str]
) -> None:
    key = new_bot_key(name, taken)
    assert re.match(BOT_PATTERN, key) and key not in taken and not key.isdigit()
