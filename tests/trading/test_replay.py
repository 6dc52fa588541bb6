"""Replaying recorded signals: the gate, bad rows, and the JSON shape users script against."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trade_analysis.trading.replay import replay
from trade_analysis.trading.simulator import Rules


def rows(*items: tuple[str, str, str, str]) -> list[dict[str, str]]:
    return [
        {"timestamp": ts, "ticker": ticker, "price": price, "trend": trend}
        for ts, ticker, price, trend in items
    ]


def test_replay_trades_and_reports_profit_per_round_trip() -> None:
    result = replay(
        rows(
            ("2026-01-05T15:00:00Z", "aapl", "$100.00", "up"),
            ("2026-01-05T15:01:00Z", "AAPL", "101.5", "up"),
            ("2026-01-05T15:02:00Z", "AAPL", "$ 1,02.0", "down"),  # malformed price
            ("2026-01-05T15:03:00Z", "AAPL", "103", "down"),
        )
    ).to_json()
    assert [(t["side"], t["price"], t["bot"]) for t in result["trades"]] == [
        ("buy", 100.0, "replay"),
        ("sell", 103.0, "replay"),
    ]
    assert result["trades"][1]["profit"] == 3.0
    assert result["summary"]["total_pnl"] == 3.0
    assert result["summary"]["bad_rows"] == 1
    assert "line 4" in result["summary"]["bad_row_examples"][0]


def test_replay_keeps_bots_apart_when_the_file_has_a_bot_column() -> None:
    data = [
        {
            "timestamp": "2026-01-05T15:00:00Z",
            "ticker": "TSLA",
            "price": "10",
            "trend": "up",
            "bot": "a",
        },
        {
            "timestamp": "2026-01-05T15:00:01Z",
            "ticker": "TSLA",
            "price": "10",
            "trend": "up",
            "bot": "b",
        },
    ]
    trades = replay(data).to_json()["trades"]
    assert [(t["bot"], t["side"]) for t in trades] == [("a", "buy"), ("b", "buy")]


def test_rows_with_missing_or_unknown_values_are_counted_not_fatal() -> None:
    result = replay(
        [
            {"timestamp": "yesterday", "ticker": "AAPL", "price": "1", "trend": "up"},
            {"timestamp": "2026-01-05T15:00:00Z", "ticker": "", "price": "1", "trend": "up"},
            {
                "timestamp": "2026-01-05T15:00:00Z",
                "ticker": "AAPL",
                "price": "1",
                "trend": "sideways",
            },
        ]
    )
    assert result.bad_rows == 3 and result.trades == []


signal_rows = st.lists(
    st.tuples(
        st.sampled_from(["AAPL", "TSLA"]),
        st.decimals(min_value=Decimal(1), max_value=Decimal(20), places=1),
        st.sampled_from(["up", "down", "none"]),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(signal_rows, st.booleans())
def test_replaying_each_signal_twice_changes_nothing(signals, with_take_profit) -> None:
    rules = Rules(take_profit=Decimal(3) if with_take_profit else None)
    once = [
        {
            "timestamp": f"2026-01-05T15:{i // 60:02d}:{i % 60:02d}Z",
            "ticker": t,
            "price": str(p),
            "trend": d,
        }
        for i, (t, p, d) in enumerate(signals)
    ]
    twice = [row for row in once for _ in range(2)]
    assert replay(twice, rules).to_json()["trades"] == replay(once, rules).to_json()["trades"]
