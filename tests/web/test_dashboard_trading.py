"""Trades and P&L, rules per bot, history and settings, through the page on a real server."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.api.routes.test_indicator_rules import SERIES
from tests.conftest import AUTH
from tests.images import image_bytes
from tests.server import ServerProcess
from tests.web.conftest import Dashboard

pytestmark = [pytest.mark.browser]


def ingest(
    server: ServerProcess, files: dict[str, tuple[str, bytes, str]] | None = None, **fields: str
) -> dict:
    response = httpx.post(
        server.url + "/ingest", headers=AUTH, data=fields, files=files, timeout=15
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_manual_trade_shows_in_the_table_and_the_equity_chart_and_refusals_in_words(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    page = dashboard.page
    dashboard.signed_in()
    dashboard.view("trades")
    expect(page.locator("#equity-empty")).to_be_visible()
    form = page.locator("#manual")

    form.locator("[name=ticker]").fill("nvda")
    form.locator("[name=price]").fill("not a price")
    form.locator("button[value=buy]").click()
    expect(form.locator("[data-error-for=price]")).to_contain_text("is not an amount")
    expect(form.locator("[name=price]")).to_have_attribute("aria-invalid", "true")
    dashboard.shot("manual-422")

    form.locator("[name=price]").fill("$1,234.56")
    form.locator("button[value=buy]").click()
    expect(page.locator("#manual-ok")).to_have_text("Bought NVDA at 1,234.56.")
    expect(form.locator("[data-error-for=price]")).to_be_empty()
    form.locator("button[value=buy]").click()
    expect(form.locator("[data-error-for='']")).to_contain_text("Refused: NVDA is already long")

    form.locator("[name=price]").fill("1240.06")
    form.locator("button[value=sell]").click()
    expect(page.locator("#manual-ok")).to_contain_text("Sold NVDA at 1,240.06, profit +5.50")
    rows = page.locator("#trades tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("sell")
    expect(rows.first).to_contain_text("+5.50")
    expect(rows.first).to_contain_text("manual")
    chart = page.locator("#equity")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-points", "2")
    expect(chart).to_have_attribute("data-last", "5.5")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(page.locator("#tickers tr[data-ticker=NVDA]")).to_contain_text("100%")
    expect(page.locator("#trades-realised")).to_have_text("+5.50")
    dashboard.shot("manual-trade-and-equity")

    form.locator("[name=price]").fill("1")
    form.locator("button[value=sell]").click()
    expect(form.locator("[data-error-for='']")).to_contain_text("nothing to sell")

    # Filters and the CSV download.
    filters = page.locator("#trade-filter")
    filters.locator("[name=side]").select_option("buy")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("buy")
    with page.expect_download() as download:
        page.click("#csv")
    saved = tmp_path / "trades.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0] == "id,ts,bot,name,ticker,direction,price,profit,win_reason"
    assert len(lines) == 2 and ",NVDA,buy,1234.56,," in lines[1]
    filters.locator("[name=side]").select_option("")
    filters.locator("[name=ticker]").fill("TSLA")
    expect(page.locator("#trades-pager span")).to_contain_text("0 trade(s)")


def test_trades_page_by_fifty_and_filter_by_bot(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    for i in range(30):  # 60 trades, two bots
        bot = "w1" if i % 2 else "w2"
        ingest(server, bot=bot, ticker="AMD", price=str(10 + i), trend="up")
        ingest(server, bot=bot, ticker="AMD", price=str(11 + i), trend="down")
    dashboard.signed_in()
    dashboard.view("trades")
    expect(page.locator("#trades tbody tr")).to_have_count(50)
    expect(page.locator("#trades-pager span")).to_have_text("page 1 of 2 · 60 trade(s)")
    page.click("#trades-pager button[data-page='1']")
    expect(page.locator("#trades tbody tr")).to_have_count(10)
    page.locator("#trade-filter [name=bot]").select_option("w1")
    expect(page.locator("#trades-pager span")).to_have_text("page 1 of 1 · 30 trade(s)")
    dashboard.shot("trades-filtered")


def test_rules_show_the_servers_422_next_to_the_field_then_save_and_fire(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="desk-2", name="Desk two", ticker="TSLA", price="250", trend="up")
    dashboard.signed_in()
    card = page.locator("#cards .card[data-bot=desk-2]")
    card.locator("button.open-panel").click()
    rules = page.locator("#rules")
    expect(rules.locator("[name=first_cycle]")).to_be_checked()  # on unless switched off
    rules.locator("[name=stop_loss]").fill("-5")
    rules.locator("[name=stake]").fill("0")
    rules.locator("button[type=submit]").click()
    expect(rules.locator("[data-error-for=stop_loss]")).to_have_text(
        "Input should be greater than 0"
    )
    expect(rules.locator("[data-error-for=stake]")).to_have_text("Input should be greater than 0")
    expect(rules.locator("[name=stop_loss]")).to_have_attribute("aria-invalid", "true")
    dashboard.shot("stop-loss-422")
    rules.locator("[name=stop_loss]").fill("5")
    rules.locator("[name=stake]").fill("2")
    rules.locator("[name=cooldown_seconds]").fill("30")
    rules.locator("[name=first_cycle]").uncheck()
    rules.locator("[name=title_pattern]").fill("(unclosed")
    rules.locator("button[type=submit]").click()
    expect(rules.locator("[data-error-for=title_pattern]")).not_to_be_empty()
    rules.locator("[name=title_pattern]").fill("")
    rules.locator("button[type=submit]").click()
    expect(rules.locator("[data-ok]")).to_have_text("Saved.")
    expect(rules.locator("[data-error-for=stop_loss]")).to_be_empty()
    (bot,) = httpx.get(server.url + "/bots", headers=AUTH).json()
    assert bot["meta"]["rules"]["stop_loss"] == "5"
    assert bot["meta"]["rules"]["cooldown_seconds"] == 30
    assert bot["meta"]["rules"]["first_cycle"] is False
    assert bot["meta"]["costs"]["stake"] == "2"
    page.click("#bot-dialog [data-close]")

    # The rule fires on the next price: 244 is more than 5 below the 250 entry (one unit,
    # bought before the stake was set).
    ingest(server, bot="desk-2", ticker="TSLA", price="244", trend="up")
    dashboard.view("trades")
    expect(page.locator("#trades tbody tr").first).to_contain_text("stop loss")
    expect(page.locator("#trades tbody tr").first).to_contain_text("\u22126.00")

    # Reopened, the form shows what is saved; deleting the bot keeps its trades.
    dashboard.view("board")
    card.locator("button.open-panel").click()
    expect(rules.locator("[name=stop_loss]")).to_have_value("5")
    expect(rules.locator("[name=stake]")).to_have_value("2")
    expect(rules.locator("[name=first_cycle]")).not_to_be_checked()
    page.click("#delete-bot")
    expect(page.locator("#delete-bot")).to_have_text("Press again to delete")
    page.click("#delete-bot")
    expect(card).to_have_count(0)
    assert httpx.get(server.url + "/bots", headers=AUTH).json() == []
    dashboard.view("trades")
    expect(page.locator("#trades tbody tr")).to_have_count(2)


def test_indicator_rules_are_set_in_the_panel_and_their_trades_say_why(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    ingest(server, bot="desk-3", ticker="AAPL", price=f"{SERIES[0]:.2f}", trend="none")
    dashboard.signed_in()
    card = page.locator("#cards .card[data-bot=desk-3]")
    card.locator("button.open-panel").click()
    rules = page.locator("#rules")
    rules.locator("[name=signal]").select_option("indicators")
    rules.locator("[name=rsi_bollinger]").check()
    rules.locator("[name=rsi_floor]").fill("80")
    rules.locator("button[type=submit]").click()
    expect(rules.locator("[data-error-for=rsi_bollinger]")).to_have_text(
        "rsi_floor (80) must be under rsi_ceiling (70)"
    )
    rules.locator("[name=rsi_floor]").fill("")
    rules.locator("button[type=submit]").click()
    expect(rules.locator("[data-ok]")).to_have_text("Saved.")
    (bot,) = httpx.get(server.url + "/bots", headers=AUTH).json()
    assert bot["meta"]["indicators"] == {"signal": "indicators", "rsi_bollinger": {}}
    page.click("#bot-dialog [data-close]")

    for price in SERIES[1:]:
        ingest(server, bot="desk-3", ticker="AAPL", price=f"{price:.2f}", trend="up")
    dashboard.view("trades")
    row = page.locator("#trades tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("indicator (RSI ")
    expect(row).to_contain_text("<= lower band")
    dashboard.shot("indicator-trade")

    dashboard.view("board")
    card.locator("button.open-panel").click()  # reopened, the form shows what is saved
    expect(rules.locator("[name=signal]")).to_have_value("indicators")
    expect(rules.locator("[name=rsi_bollinger]")).to_be_checked()
    expect(rules.locator("[name=slope]")).not_to_be_checked()
    dashboard.shot("indicator-form")


def test_history_filters_pages_and_opens_an_image(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = dashboard.page
    for i in range(30):
        ticker = "AAPL" if i % 3 else "MSFT"
        ingest(
            server,
            files={"file": (f"{i}.png", image_bytes(".png", (120, 200), seed=i), "image/png")},
            bot="desk-2",
            ticker=ticker,
            price=str(100 + i),
            trend="up" if i % 2 else "down",
        )
    dashboard.signed_in()
    dashboard.view("history")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("#history-pager span")).to_contain_text("of 2")
    page.click("#history-pager button[data-page='1']")
    expect(page.locator("#history-pager span")).to_contain_text("page 2 of 2")

    filters = page.locator("#history-filter")
    filters.locator("[name=ticker]").fill("msft")
    filters.locator("button[type=submit]").click()
    expect(page.locator("#history-pager span")).to_contain_text("page 1 of 1")
    expect(rows.first).to_contain_text("MSFT")
    assert all("MSFT" in text for text in rows.all_inner_texts())
    thumbnail = rows.first.locator("img")
    expect(thumbnail).to_have_js_property("naturalWidth", 200)
    dashboard.shot("history-filtered")

    rows.first.locator("button.thumb-button").click()
    full = page.locator("#image-full")
    expect(page.locator("#image-dialog")).to_be_visible()
    expect(full).to_have_js_property("complete", True)
    expect(full).to_have_js_property("naturalWidth", 200)
    dashboard.shot("history-image")
    page.keyboard.press("Escape")
    expect(page.locator("#image-dialog")).to_be_hidden()

    filters.locator("[name=days]").fill("-1")
    filters.locator("button[type=submit]").click()
    expect(filters.locator("[data-error-for='']")).to_contain_text(re.compile("greater than 0"))


def test_settings_save_and_say_so(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.signed_in()
    dashboard.view("settings")
    crop = page.locator("#default-crop")
    crop.locator("[name=left]").fill("0.6")
    crop.locator("[name=right]").fill("0.5")
    crop.locator("button[type=submit]").click()
    expect(crop.locator("[data-error-for='']")).to_contain_text("leaves no pixels")
    crop.locator("[name=left]").fill("0.05")
    crop.locator("button[type=submit]").click()
    expect(crop.locator("[data-ok]")).to_have_text("Saved: default crop saved.")
    capture = page.locator("#capture-settings")
    capture.locator("[name=line_detect]").uncheck()
    expect(capture.locator("[data-ok]")).to_have_text("Saved: line detection off.")
    dashboard.shot("settings")


def trades_after(
    dashboard: Dashboard, server: ServerProcess, *uploads: tuple[str, str, str, str]
) -> Page:
    """The trades view, signed in, after these (bot, ticker, price, trend) uploads."""
    for bot, ticker, price, trend in uploads:
        ingest(server, bot=bot, ticker=ticker, price=price, trend=trend)
    dashboard.signed_in()
    dashboard.view("trades")
    return dashboard.page


def test_close_all_sells_every_open_position_and_the_trades_say_why(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    page = trades_after(
        dashboard,
        server,
        ("w1", "AAPL", "100", "up"),
        ("w1", "AAPL", "103", "up"),
        ("w2", "MSFT", "50", "up"),
    )
    positions = page.locator("#positions tbody tr")
    expect(positions).to_have_count(2)
    button = page.locator("#close-all")
    expect(button).to_be_enabled()

    button.click()
    expect(button).to_have_text("Press again to close all")
    expect(positions).to_have_count(2)  # one press only asks
    button.click()
    expect(page.locator("#close-all-result")).to_have_text(
        "Closed 2 positions (reason: close all)."
    )
    expect(positions).to_have_count(1)
    expect(positions.first).to_contain_text("No open position.")
    expect(button).to_be_disabled()
    sells = page.locator("#trades tbody tr", has_text="close all")
    expect(sells).to_have_count(2)
    expect(sells.filter(has_text="AAPL")).to_contain_text("+3.00")
    dashboard.shot("close-all")
    summary = dashboard.api("GET", "/api/v1/trades").json()
    assert summary["open_positions"] == []
    assert sorted(t["win_reason"] for t in summary["all_trades"] if t["direction"] == "sell") == [
        "close all",
        "close all",
    ]


def test_a_first_cycle_trade_explains_itself_in_the_why_tooltip(
    dashboard: Dashboard, server: ServerProcess
) -> None:
    first_cycle = [("w1", "AAPL", "100", "down"), ("w1", "AAPL", "97", "down")]
    page = trades_after(dashboard, server, *first_cycle)
    why = page.locator("#trades tbody tr td.why")
    expect(why).to_have_count(2)
    expect(why.first).to_have_text("first cycle")
    expect(why.first).to_have_attribute(
        "title", re.compile(r"^first cycle: the next `down` after the first-cycle buy sells it")
    )
    expect(why.last).to_have_attribute(
        "title", re.compile(r"first reading was `down` while flat.*first_cycle to false")
    )
    why.first.hover()
    dashboard.shot("first-cycle-why")
