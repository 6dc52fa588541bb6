"""GET /api/v1/stats and the original's /history_overview: figures that add up to the
ledger's trades as /trades lists them, and signal skill on a recorded run of readings."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from trade_analysis.domain import to_wire

READINGS = Path(__file__).with_name("readings.csv")
# Days ago, at noon UTC: the latest noon at least an hour past (times sent are up to an
# hour either side of a noon), so every time sent is in the past, as uploads require,
# whatever the hour the tests run at.
TODAY = (datetime.now(UTC) - timedelta(hours=13)).replace(
    hour=12, minute=0, second=0, microsecond=0
)


def day(days_ago: int, minutes: int = 0) -> datetime:
    return TODAY - timedelta(days=days_ago) + timedelta(minutes=minutes)


def order(client: TestClient, bot: str, ticker: str, side: str, price: str, at: datetime) -> None:
    response = client.post(
        "/api/v1/manual_trade",
        json={"bot": bot, "ticker": ticker, "direction": side, "price": price, "ts": to_wire(at)},
    )
    assert response.status_code == 200, response.text


def round_trip(
    client: TestClient, bot: str, ticker: str, prices: tuple[str, str], at: datetime
) -> None:
    order(client, bot, ticker, "buy", prices[0], at)
    order(client, bot, ticker, "sell", prices[1], at + timedelta(minutes=30))


@pytest.fixture
def traded(client: TestClient) -> TestClient:
    """Two bots, two tickers, five round trips over three days and one open position."""
    round_trip(client, "alpha", "AAPL", ("100.10", "101.35"), day(3))
    round_trip(client, "alpha", "AAPL", ("101", "100.20"), day(2))
    round_trip(client, "beta", "MSFT", ("50", "50"), day(2, 60))
    round_trip(client, "beta", "AAPL", ("99.99", "100.02"), day(1))
    round_trip(client, "alpha", "MSFT", ("49.5", "51.25"), day(1, 60))
    order(client, "beta", "MSFT", "buy", "52", day(0, -60))
    return client


def ledger_trades(client: TestClient) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = client.get("/api/v1/trades", params={"limit": 10000}).json()[
        "all_trades"
    ]
    return trades


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def test_statistics_add_up_to_the_ledgers_trades(traded: TestClient) -> None:
    trades = ledger_trades(traded)
    sells = [t for t in trades if t["direction"] == "sell"]
    profits = [money(t["profit"]) for t in sells]
    answer = traded.get("/api/v1/stats").json()
    overall = answer["overall"]
    assert money(overall["realised_pnl"]) == sum(profits) == Decimal("2.23")
    assert overall["ledger_trades"] == len(trades) == 11
    assert overall["closed_trades"] == len(sells) and overall["open_trades"] == 1
    assert overall["wins"] == sum(1 for p in profits if p > 0) == 3
    assert overall["losses"] == 1 and overall["breakeven"] == 1
    assert overall["win_rate"] == 3 / 5
    assert money(overall["profit_factor"]) == Decimal("3.03") / Decimal("0.80")
    assert money(overall["expectancy"]) == sum(profits) / len(profits)
    assert overall["exits_by_reason"] == {"manual": 5}
    assert overall["average_holding_seconds"] == 1800
    assert overall["fees"] == 0
    # Realised P&L went 1.25, 0.45 (0.80 down from its best), ...: the deepest fall.
    assert money(overall["max_drawdown"]) == Decimal("0.80")
    for part in ("bots", "tickers"):
        assert sum(money(row["realised_pnl"]) for row in answer[part]) == sum(profits)
        assert sum(row["closed_trades"] for row in answer[part]) == len(sells)
    by_bot = {row["bot"]: row for row in answer["bots"]}
    alpha = [money(t["profit"]) for t in sells if t["bot"] == "alpha"]
    assert money(by_bot["alpha"]["realised_pnl"]) == sum(alpha)
    days = [row for row in overall["periods"] if row["closed_trades"]]
    assert [row["start"] for row in days] == [
        (TODAY - timedelta(days=n)).date().isoformat() for n in (3, 2, 1)
    ]
    assert sum(money(row["realised_pnl"]) for row in overall["periods"]) == sum(profits)
    assert money(answer["equity"][-1]["realised"]) == sum(profits)


def test_a_window_a_bot_and_a_period_narrow_the_figures(traded: TestClient) -> None:
    window = {"from": to_wire(day(2, -1)), "to": to_wire(day(1, -1))}
    answer = traded.get("/api/v1/stats", params=window).json()
    assert answer["overall"]["closed_trades"] == 2
    assert money(answer["overall"]["realised_pnl"]) == Decimal("-0.80")
    one = traded.get("/api/v1/stats", params={"bot": "beta", "period": "month"}).json()
    assert [row["bot"] for row in one["bots"]] == ["beta"]
    assert money(one["overall"]["realised_pnl"]) == Decimal("0.03")
    assert all(row["start"].endswith("-01") for row in one["overall"]["periods"])
    # One bot: its prices and trades, for its chart.
    assert [t["direction"] for t in one["chart"]["trades"]] == ["buy", "sell", "buy", "sell", "buy"]
    assert traded.get("/api/v1/stats").json()["chart"] is None
    recent = traded.get("/api/v1/stats", params={"bot": "beta", "from": to_wire(day(1, -1))})
    assert [t["direction"] for t in recent.json()["chart"]["trades"]] == ["buy", "sell", "buy"]
    ticker = traded.get("/api/v1/stats", params={"ticker": "msft"}).json()
    assert [row["ticker"] for row in ticker["tickers"]] == ["MSFT"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"period": "year"}, "period"),
        ({"horizon": "0"}, "horizon"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, "to is before from"),
        ({"ticker": "no spaces"}, "ticker"),
    ],
)
def test_bad_filters_are_422_naming_what_is_wrong(
    client: TestClient, params: dict[str, str], words: str
) -> None:
    response = client.get("/api/v1/stats", params=params)
    assert response.status_code == 422
    assert words in response.text


def test_an_unknown_bot_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/stats", params={"bot": "nobody"})
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


# -- signal skill on a recorded run -------------------------------------------------------


def recorded_readings() -> list[tuple[int, str, Decimal]]:
    with READINGS.open() as file:
        return [(int(r["second"]), r["trend"], Decimal(r["price"])) for r in csv.DictReader(file)]


def expected_skill(series: list[tuple[int, str, Decimal]], horizon: int) -> dict[str, Any]:
    """Worked out here the plain way: for each up/down call, step forward through at most
    `horizon` readings until the price differs from the call's."""
    calls = hits = 0
    moves: Counter[str] = Counter()
    for index, (_, trend, price) in enumerate(series):
        if trend == "none":
            continue
        calls += 1
        step = 1
        while step <= horizon and index + step < len(series):
            later = series[index + step][2]
            if later != price:
                move = "up" if later > price else "down"
                moves[move] += 1
                hits += move == trend
                break
            step += 1
    judged = moves["up"] + moves["down"]
    return {
        "readings": calls,
        "judged": judged,
        "hits": hits,
        "baseline_hits": max(moves.values()),
        "majority": "up" if moves["up"] >= moves["down"] else "down",
    }


@pytest.mark.parametrize("horizon", [1, 3])
def test_signal_skill_against_the_majority_baseline_on_a_recorded_run(
    client: TestClient, horizon: int
) -> None:
    series = recorded_readings()
    start = TODAY - timedelta(days=1)
    for second, trend, price in series:
        at = to_wire(start + timedelta(seconds=second))
        fields = {"bot": "reader", "ticker": "SPY", "price": str(price), "trend": trend, "ts": at}
        assert client.post("/ingest", data=fields).status_code == 200
    # Another bot's readings are its own.
    client.post("/ingest", data={"bot": "other", "ticker": "SPY", "price": "1", "trend": "up"})

    answer = client.get("/api/v1/stats", params={"horizon": horizon}).json()
    skill = {row["bot"]: row for row in answer["skill"]}
    reader = skill["reader"]
    expected = expected_skill(series, horizon)
    assert {key: reader[key] for key in expected} == expected
    assert reader["horizon"] == horizon
    assert reader["hit_rate"] == pytest.approx(expected["hits"] / expected["judged"])
    assert reader["baseline_rate"] == pytest.approx(expected["baseline_hits"] / expected["judged"])
    assert reader["edge"] == pytest.approx(reader["hit_rate"] - reader["baseline_rate"])
    assert skill["other"]["readings"] == 1 and skill["other"]["judged"] == 0
    # The trades those readings made add up as well.
    sells = [money(t["profit"]) for t in ledger_trades(client) if t["direction"] == "sell"]
    assert money(answer["overall"]["realised_pnl"]) == sum(sells)
    chart = client.get("/api/v1/stats", params={"bot": "reader"}).json()["chart"]
    assert len(chart["prices"]) == len(series)


# -- the original's /history_overview ------------------------------------------------------


def test_history_overview_has_the_originals_shape_and_adds_up(traded: TestClient) -> None:
    answer = traded.get("/history_overview").json()
    assert set(answer) == {"daily", "totals", "selected_day", "profit_filter", "time_mode"}
    assert answer["profit_filter"] == "all" and answer["selected_day"] is None
    daily = answer["daily"]
    assert [row["day_key"] for row in daily] == [
        (TODAY - timedelta(days=n)).date().isoformat() for n in (3, 2, 1, 0)
    ]
    assert set(daily[0]) == {
        "day_key",
        "count",
        "wins",
        "losses",
        "total_profit",
        "total_loss",
        "net",
    }
    assert [row["count"] for row in daily] == [1, 2, 2, 1]  # the open buy counts on its day
    totals = answer["totals"]
    assert totals == {
        "count": 6,
        "wins": 3,
        "losses": 1,
        "total_profit": 3.03,
        "total_loss": 0.8,
        "net": 2.23,
    }
    day_two = (TODAY - timedelta(days=2)).date().isoformat()
    losses = traded.get(
        "/history_overview", params={"selected_day": day_two, "profit_filter": "loss"}
    ).json()
    assert losses["totals"] == {
        "count": 1,
        "wins": 0,
        "losses": 1,
        "total_profit": 0.0,
        "total_loss": 0.8,
        "net": -0.8,
    }
    assert losses["daily"] == daily  # neither narrows the days
    beta = traded.get("/history_overview", params={"bot_id": "beta", "trend": "sell"}).json()
    assert beta["totals"]["count"] == 2 and beta["totals"]["net"] == 0.03


def test_history_overview_refuses_bad_filters_and_needs_the_key(
    traded: TestClient, anonymous: TestClient
) -> None:
    bad = traded.get("/history_overview", params={"selected_day": "23/07/2026"})
    assert bad.status_code == 422 and "selected_day" in bad.text
    assert traded.get("/history_overview", params={"days": "0"}).status_code == 422
    assert traded.get("/history_overview", params={"profit_filter": "big"}).status_code == 422
    assert anonymous.get("/history_overview").status_code == 401


def test_fees_and_quantities_come_from_the_trades(traded: TestClient) -> None:
    """With costs, a round trip's P&L is the ledger's net profit, its fees are what both
    legs paid, and an open position is worth its quantity at the last price read."""
    fees = {"fee_percent": "0.1", "fee_fixed": "0.5", "slippage_bps": "20"}
    for bot, stake in (("alpha", "3"), ("beta", "1")):
        costs = fees | {"stake": stake}
        response = traded.put(f"/api/v1/bots/{bot}/settings", json={"costs": costs})
        assert response.status_code == 200, response.text
    order(traded, "beta", "MSFT", "sell", "53.5", day(0, -50))
    round_trip(traded, "alpha", "AAPL", ("102", "104.25"), day(0, -45))
    order(traded, "alpha", "MSFT", "buy", "50", day(0, -10))
    reading = {"bot": "alpha", "ticker": "MSFT", "price": "51.5", "trend": "up"}
    response = traded.post("/api/v1/ingest", data=reading | {"ts": to_wire(day(0, -5))})
    assert response.status_code == 200, response.text
    trades = ledger_trades(traded)
    open_buy = trades[-1]
    assert open_buy["quantity"] == 3 and open_buy["fee"] > 0
    closed = trades[:-1]
    paid = sum((money(t["fee"]) for t in closed), Decimal(0))
    assert paid > 0
    answer = traded.get("/api/v1/stats").json()
    overall = answer["overall"]
    # Fees: both legs of every closed round trip; the open buy's fee is not paid back yet.
    assert money(overall["fees"]) == paid
    assert sum(money(row["fees"]) for row in overall["periods"]) == paid
    for row in answer["bots"]:
        assert money(row["fees"]) == sum(money(t["fee"]) for t in closed if t["bot"] == row["bot"])
    profits = [money(t["profit"]) for t in closed if t["direction"] == "sell"]
    assert money(overall["realised_pnl"]) == sum(profits)
    # Three units bought at 50 (read), marked at 51.5: as /trades marks it.
    assert money(overall["unrealised_pnl"]) == Decimal("4.5")
    summary = traded.get("/api/v1/trades").json()
    assert money(summary["unrealised_pnl"]) == Decimal("4.5")
    chart = traded.get("/api/v1/stats", params={"bot": "alpha"}).json()["chart"]["trades"]
    fields = ("id", "quantity", "fill_price", "fee", "why")
    alpha = [{k: t[k] for k in fields} for t in trades if t["bot"] == "alpha"]
    assert [{k: t[k] for k in fields} for t in chart] == alpha
