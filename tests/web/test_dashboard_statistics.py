"""The Statistics view on a real server: the equity curve with its drawdown, the per-bot
table with win rate and signal skill, and a bot's prices with its trades marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Dashboard
from trade_analysis.domain import to_wire

pytestmark = [pytest.mark.browser]

# Readings of one bot, a minute apart: up 10 -> 12 (a buy, then a sell on down at 11
# is +1), then down, up 11 -> buy, down at 10.5 -> sell (-0.5), then a buy still open.
READINGS = [
    ("up", "10"),
    ("up", "12"),
    ("down", "13"),
    ("down", "12.5"),
    ("up", "11"),
    ("up", "11.5"),
    ("down", "10.5"),
    ("up", "10"),
    ("up", "10.25"),
]


def test_statistics_show_the_equity_curve_and_the_per_bot_table(dashboard: Dashboard) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    for minute, (trend, price) in enumerate(READINGS):
        fields = {
            "bot": "spy-reader",
            "ticker": "SPY",
            "price": price,
            "trend": trend,
            "ts": to_wire(start + timedelta(minutes=minute)),
        }
        assert dashboard.api("POST", "/ingest", data=fields).status_code == 200
    stats = dashboard.api("GET", "/api/v1/stats", params={"bot": "spy-reader"}).json()
    figures = stats["bots"][0]
    sells = [t for t in stats["chart"]["trades"] if t["direction"] == "sell"]
    buys = [t for t in stats["chart"]["trades"] if t["direction"] == "buy"]
    assert len(sells) >= 2  # the readings traded: the view has something to show

    page = dashboard.page
    dashboard.signed_in()
    dashboard.view("stats")
    equity = page.locator("#stats-equity")
    expect(equity).to_be_visible()
    expect(equity).to_have_attribute("data-points", str(len(stats["equity"])))
    expect(equity).to_have_attribute("data-last", str(stats["overall"]["realised_pnl"]))
    expect(equity.locator("canvas")).to_have_count(1)
    expect(equity).to_contain_text("Drawdown")  # the legend names each line

    row = page.locator("#stats-bots tr[data-bot=spy-reader]")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text(str(figures["closed_trades"]))
    expect(cells.nth(3)).to_have_text(f"{figures['win_rate'] * 100:g}%")
    realised = figures["realised_pnl"]
    sign = "+" if realised > 0 else "\N{MINUS SIGN}"
    expect(cells.nth(4)).to_have_text(f"{sign}{abs(realised):.2f}")
    skill = stats["skill"][0]
    expect(cells.nth(14)).to_contain_text(f"({skill['judged']})")
    expect(page.locator("#stats-realised")).to_have_text(cells.nth(4).inner_text())

    # The bot's prices with its buys and sells marked on them.
    prices = page.locator("#stats-price")
    expect(prices).to_be_visible()
    expect(prices).to_have_attribute("data-bot", "spy-reader")
    expect(prices).to_have_attribute("data-prices", str(len(READINGS)))
    expect(prices).to_have_attribute("data-buys", str(len(buys)))
    expect(prices).to_have_attribute("data-sells", str(len(sells)))
    expect(prices.locator("canvas")).to_have_count(1)
    expect(page.locator("#stats-periods tbody tr")).to_have_count(len(stats["overall"]["periods"]))
    dashboard.shot("statistics")

    # A filter the server refuses says why; a period of months shows month starts.
    form = page.locator("#stats-filter")
    form.locator("[name=horizon]").fill("0")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for='']")).to_contain_text("greater than or equal to 1")
    expect(form.locator("[name=horizon]")).to_have_attribute("aria-invalid", "true")
    form.locator("[name=horizon]").fill("5")
    form.locator("[name=period]").select_option("month")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for='']")).to_be_empty()
    first_day = page.locator("#stats-periods tbody tr").first.locator("td").first
    expect(first_day).to_have_text(f"{start.year:04d}-{start.month:02d}-01")

    # A trade made meanwhile shows without a reload: the view reads the figures again.
    for side, price in (("buy", "20"), ("sell", "21.5")):
        order = {"bot": "desk", "ticker": "QQQ", "direction": side, "price": price}
        assert dashboard.api("POST", "/api/v1/manual_trade", json=order).status_code == 200
    desk = page.locator("#stats-bots tr[data-bot=desk]")
    expect(desk).to_have_count(1)
    expect(desk.locator("td").nth(4)).to_have_text("+1.50")
