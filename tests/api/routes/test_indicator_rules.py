"""Bots trading on indicator rules, through the settings route and uploads."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from fastapi.testclient import TestClient

from tests.images import image_bytes
from tests.trading.test_indicators import bands, wilder_rsi
from trade_analysis.trading.indicators import IndicatorSettings
from trade_analysis.trading.replay import replay

# Sideways around 100 (no reading repeats the last), then a fall through the floor and band.
SIDEWAYS = [100 + (0.3 if i % 2 else -0.3) + 0.01 * i for i in range(20)]
SERIES = [*SIDEWAYS, 99.6, 99.0, 98.1, 97.0, 95.6, 94.0]


def upload(
    client: TestClient, price: float | None, trend: str = "up", ts: str | None = None
) -> dict:
    data = {"bot": "rsi", "ticker": "AAPL", "trend": trend}
    if ts is not None:
        data["ts"] = ts
    files = None
    if price is not None:
        data["price"] = f"{price:.2f}"
    else:  # a frame whose title carries no price
        data["name"] = "AAPL chart"
        files = {"file": ("chart.png", image_bytes(".png"), "image/png")}
    response = client.post("/ingest", data=data, files=files)
    assert response.status_code == 200, response.text
    return response.json()


def first_buy_bar(prices: list[float]) -> int:
    """By hand: the first reading with RSI(14) <= 30 and price <= the lower 20/2 sigma band."""
    rsi = wilder_rsi(prices, 14)
    for index in range(19, len(prices)):
        value = rsi[index]
        if (
            value is not None
            and value <= 30
            and prices[index] <= bands(prices[: index + 1], 20, 2)[0]
        ):
            return index
    raise AssertionError("the series never crosses")


def test_an_rsi_bollinger_bot_buys_where_the_hand_calculation_says_and_explains(
    client: TestClient,
) -> None:
    saved = client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["meta"] == {"indicators": {"rsi_bollinger": {}}}  # defaults: 14, 30, 20, 2
    prices = [round(p, 2) for p in SERIES]
    bar = first_buy_bar(prices)
    answers = [upload(client, price) for price in prices]
    # An `up` trend on every reading: a trend bot would have bought at once.
    assert [a["trade"] for a in answers[:bar]] == [None] * bar
    assert answers[0]["indicator"] == "RSI warming up (0/14)"
    assert answers[5]["indicator"] == "RSI warming up (5/14)"
    assert answers[16]["indicator"] == "Bollinger bands warming up (17/20)"
    trade = answers[bar]["trade"]
    assert trade["direction"] == "buy" and trade["price"] == prices[bar]
    assert trade["win_reason"] == "indicator"
    rsi = wilder_rsi(prices, 14)[bar]
    assert rsi is not None
    assert trade["why"].startswith(f"RSI {rsi:.1f} <= 30 and price {prices[bar]:g} <= lower band")
    listed = client.get("/trades").json()["all_trades"]
    assert [(t["direction"], t["price"], t["why"]) for t in listed] == [
        ("buy", prices[bar], trade["why"])
    ]


def test_a_trades_why_is_one_field_the_indicators_words_or_the_reasons(
    client: TestClient,
) -> None:
    client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    answers = [upload(client, round(price, 2)) for price in SERIES]
    (indicator,) = [a["trade"] for a in answers if a["trade"]]
    assert indicator["why"].startswith("RSI ")
    # A bot on the trend alone: its first reading `down` is the first cycle's buy.
    plain = client.post(
        "/ingest", data={"bot": "plain", "ticker": "MSFT", "price": "50", "trend": "down"}
    )
    first_cycle = plain.json()["trade"]
    assert first_cycle["win_reason"] == "first_cycle"
    assert first_cycle["why"].startswith("first cycle: the ticker's first reading was `down`")
    # Stored with the trade: the ledger and the statistics read the same words back.
    listed = {t["id"]: t["why"] for t in client.get("/trades").json()["all_trades"]}
    assert listed == {indicator["id"]: indicator["why"], first_cycle["id"]: first_cycle["why"]}
    for trade in (indicator, first_cycle):
        stats = client.get("/api/v1/stats", params={"bot": trade["bot"]})
        assert stats.status_code == 200, stats.text
        assert [t["why"] for t in stats.json()["chart"]["trades"]] == [trade["why"]]


def test_a_reading_without_a_price_computes_nothing_and_says_so(client: TestClient) -> None:
    client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    upload(client, 100.0)
    answer = upload(client, None)
    assert answer["indicator"] == "no price read: no indicator computed"
    assert upload(client, 100.5)["indicator"] == "RSI warming up (1/14)"


def test_indicator_state_is_made_again_from_stored_readings(client: TestClient) -> None:
    client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    for price in SERIES[:10]:
        upload(client, price)
    client.app.state.services.ledger.indicators.forget()  # as after a restart
    assert upload(client, SERIES[10])["indicator"] == "RSI warming up (10/14)"


def test_a_reading_the_ledger_did_not_keep_is_dropped_from_the_indicators(
    client: TestClient,
) -> None:
    client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    prices = [round(p, 2) for p in SERIES[:6]]
    for price in prices:
        upload(client, price)
    book = client.app.state.services.ledger.indicators
    settings = IndicatorSettings.model_validate({"rsi_bollinger": {}})
    # As if a write was rolled back (or another process read a price): fed, never stored.
    fed = book.reading("rsi", "AAPL", settings, Decimal(1), list, Decimal(str(prices[-1])))
    assert fed.why == "RSI warming up (6/14)"
    assert upload(client, SERIES[6])["indicator"] == "RSI warming up (6/14)"


def test_a_slope_bot_buys_a_steady_rise_and_sells_a_fall(client: TestClient) -> None:
    rule = {"signal": "both", "slope": {"period": 4, "threshold_pct": 0.5}}
    assert client.put("/bots/rsi/settings", json={"indicators": rule}).status_code == 200
    prices = [100.0, 100.1, 99.9, 100.0, 100.8, 101.6, 102.4, 101.2, 100.0, 98.8]
    trends = ["up"] * 6 + ["down"] * 4
    answers = [upload(client, p, t) for p, t in zip(prices, trends, strict=True)]
    slopes = [
        np.polyfit(np.arange(4), prices[i - 3 : i + 1], 1)[0] / np.mean(prices[i - 3 : i + 1]) * 100
        for i in range(3, len(prices))
    ]
    buy = next(i for i, s in enumerate(slopes, start=3) if s >= 0.5)
    sell = next(i for i, s in enumerate(slopes, start=3) if s <= -0.5 and i > buy)
    traded = [(i, a["trade"]["direction"]) for i, a in enumerate(answers) if a["trade"]]
    assert traded == [(buy, "buy"), (sell, "sell")]
    assert answers[buy]["trade"]["why"].startswith("trend up and slope +")
    assert answers[sell]["trade"]["why"].startswith("trend down and slope -")


def test_bad_indicator_settings_are_422_naming_the_field_and_nothing_is_saved(
    client: TestClient,
) -> None:
    for body, detail in [
        ({"rsi_bollinger": {"rsi_period": 1}}, "rsi_period"),
        ({"rsi_bollinger": {"rsi_floor": 80}}, "rsi_floor (80) must be under rsi_ceiling (70)"),
        ({"slope": {"period": 5, "threshold_pct": -1}}, "threshold_pct"),
        ({}, "give rsi_bollinger or slope"),
    ]:
        response = client.put("/bots/rsi/settings", json={"indicators": body})
        assert response.status_code == 422, response.text
        assert detail in response.text
    assert "indicators" not in client.put("/bots/rsi/settings", json={}).json()["meta"]


def test_removing_the_indicators_trades_on_the_trend_again(client: TestClient) -> None:
    client.put("/bots/rsi/settings", json={"indicators": {"rsi_bollinger": {}}})
    assert upload(client, 100.0)["trade"] is None
    assert client.put("/bots/rsi/settings", json={"indicators": None}).status_code == 200
    answer = upload(client, 101.0)
    assert answer["indicator"] is None and answer["trade"]["win_reason"] == "signal"


def test_replay_gives_the_trades_the_live_path_gave_for_the_same_readings(
    client: TestClient,
) -> None:
    rule = {"signal": "both", "rsi_bollinger": {}}
    client.put("/bots/rsi/settings", json={"indicators": rule})
    # The fall, then a rise through the ceiling and the upper band; the trend turns with it.
    prices = [round(p, 2) for p in SERIES] + [95.0, 97.0, 99.5, 102.0, 104.0, 106.5, 109.0]
    trends = ["up" if i < len(SERIES) else "down" for i in range(len(prices))]
    rows = [
        {
            "timestamp": f"2026-01-05T15:{i:02d}:00Z",
            "ticker": "AAPL",
            "price": str(p),
            "trend": t,
            "bot": "rsi",
        }
        for i, (p, t) in enumerate(zip(prices, trends, strict=True))
    ]
    answers = [upload(client, float(r["price"]), r["trend"], r["timestamp"]) for r in rows]
    live = [
        (a["trade"]["direction"], a["trade"]["price"], a["trade"]["win_reason"], a["trade"]["why"])
        for a in answers
        if a["trade"]
    ]
    assert [side for side, *_ in live] == ["buy", "sell"], live
    replayed = replay(rows, indicators=IndicatorSettings.model_validate(rule)).to_json()
    assert live == [(t["side"], t["price"], t["reason"], t["why"]) for t in replayed["trades"]]
