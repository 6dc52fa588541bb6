"""Read queries answer typed values (the wire models), which the routes shape as they are."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from trade_analysis.db import queries
from trade_analysis.domain import Side, utcnow
from trade_analysis.services import Services
from trade_analysis.wire import BotPosition, TickerSummary, TickerTotals, TradeEntry, TradeSummary


def trade(client: TestClient, ticker: str, price: str, direction: str, bot: str) -> None:
    order = {"ticker": ticker, "price": price, "direction": direction, "bot": bot}
    assert client.post("/manual_trade", json=order).status_code == 200


def test_the_trade_summary_is_typed_with_realised_and_open_positions_apart(
    client: TestClient,
) -> None:
    trade(client, "AAA", "10", "buy", "desk")
    trade(client, "AAA", "12.5", "sell", "desk")
    trade(client, "BBB", "4", "buy", "desk")
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    with services.database.reading() as session:
        summary = queries.trade_summary(session, limit=10)
    assert isinstance(summary, TradeSummary)
    assert [(t.ticker, t.direction) for t in summary.all_trades] == [
        ("AAA", Side.BUY),
        ("AAA", Side.SELL),
        ("BBB", Side.BUY),
    ]
    assert all(isinstance(t, TradeEntry) for t in summary.all_trades)
    closed, held = summary.tickers["AAA"], summary.tickers["BBB"]
    assert isinstance(closed, TickerSummary)
    assert closed.last_trade == summary.all_trades[1]
    assert closed.trade_history == summary.all_trades[:2]
    assert (closed.total_pnl, closed.wins, closed.losses) == (Decimal("2.5"), 1, 0)
    assert summary.realised_pnl == Decimal("2.5")
    flat, long = closed.bots["desk"], held.bots["desk"]
    assert isinstance(flat, BotPosition) and isinstance(long, BotPosition)
    assert (flat.position, flat.unrealised_pnl, flat.open_seconds) == ("flat", None, None)
    assert (long.position, long.entry_price, long.unrealised_pnl) == (
        "long",
        Decimal(4),
        Decimal(0),
    )
    assert long.open_seconds is not None
    assert [p.ticker for p in summary.open_positions] == ["BBB"]


def test_the_totals_per_ticker_are_the_summarys_without_the_trades(client: TestClient) -> None:
    trade(client, "AAA", "10", "buy", "desk")
    trade(client, "AAA", "9", "sell", "desk")
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    with services.database.reading() as session:
        now = utcnow()
        totals = queries.ticker_totals(session, now)
        summary = queries.trade_summary(session, now=now)
    assert all(isinstance(state, TickerTotals) for state in totals.values())
    assert totals["AAA"].losses == 1 and totals["AAA"].total_pnl == Decimal(-1)
    assert queries.realised_total(totals) == summary.realised_pnl == Decimal(-1)
    full = summary.tickers["AAA"].model_dump(exclude={"last_trade", "trade_history"})
    assert full == totals["AAA"].model_dump()


def test_the_seed_trades_answer_is_the_summary_with_its_win_rate_in_percent(
    client: TestClient,
) -> None:
    trade(client, "AAA", "10", "buy", "desk")
    trade(client, "AAA", "11", "sell", "desk")
    answer = client.get("/trades").json()
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    with services.database.reading() as session:
        summary = queries.trade_summary(session).model_dump(mode="json")
    assert answer["all_trades"] == summary["all_trades"]
    assert answer["tickers"]["AAA"]["win_rate"] == 100.0
    assert answer["tickers"]["AAA"]["bots"] == summary["tickers"]["AAA"]["bots"]
