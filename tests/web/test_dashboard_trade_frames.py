"""Trade screenshots and upload sources on the dashboard, through a real browser on a real
server: a trade's five frames before and five after shown beside it, and each upload
source its own card with its open positions, newest reading and newest image."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.images import image_bytes
from tests.web.conftest import Dashboard
from trade_analysis.domain import to_wire, utcnow

pytestmark = [pytest.mark.browser]


def upload(
    dashboard: Dashboard, filename: str, seed: int, *, at_offset: float = 0, **fields: str
) -> dict:
    png = image_bytes(".png", size=(50, 80), seed=seed)
    data = {"ts": to_wire(utcnow() - timedelta(seconds=60 - at_offset)), **fields}
    answer = dashboard.api(
        "POST", "/ingest", files={"file": (filename, png, "image/png")}, data=data
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_trades_ten_frames_show_beside_it_and_beside_the_bots_reading(
    dashboard: Dashboard,
) -> None:
    page = dashboard.page
    trends = ["none"] * 6 + ["up"] + ["none"] * 6
    answers = [
        upload(
            dashboard,
            "frames.png",
            seed,
            at_offset=seed,
            bot="framed",
            ticker="AAPL",
            price=f"{100 + seed}",
            trend=trend,
        )
        for seed, trend in enumerate(trends)
    ]
    buy = answers[6]["trade"]
    dashboard.signed_in()
    dashboard.view("trades")
    row = page.locator(f"#trades tbody tr[data-trade-id='{buy['id']}']")
    row.get_by_role("button", name=f"Screenshots of trade {buy['id']}").click()
    dialog = page.locator("#trade-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#trade-dialog-title")).to_contain_text("buy AAPL at 106.00")
    expect(dialog.locator("#trade-why")).to_have_text("signal")
    shots = dialog.locator("#trade-shots li")
    expect(shots).to_have_count(10)
    expect(dialog.locator("#trade-shots li[data-when=before]")).to_have_count(5)
    expect(dialog.locator("#trade-shots li[data-when=after]")).to_have_count(5)
    expect(shots.first.locator("figcaption")).to_contain_text("before 1/5")
    # Every frame loaded: the browser decoded an image of the uploaded size.
    for index in range(10):
        expect(shots.nth(index).locator("img")).to_have_js_property("naturalWidth", 80)
    dashboard.shot("trade-frames")
    dialog.get_by_role("button", name="Close").click()

    # Beside the bot's "why this reading": its newest trade and its frames.
    row.get_by_role("button", name=f"Screenshots of trade {buy['id']}").click()
    dialog.locator("#trade-open-bot").click()
    panel = page.locator("#bot-dialog")
    expect(panel).to_be_visible()
    expect(panel.locator("#bot-trade-line")).to_contain_text("buy AAPL at 106.00")
    expect(panel.locator("#bot-trade-shots li")).to_have_count(10)
    dashboard.shot("bot-panel-trade-frames")


def test_each_upload_source_is_its_own_card_with_its_positions_and_reading(
    dashboard: Dashboard,
) -> None:
    page = dashboard.page
    upload(dashboard, "HJKL_20260723.png", 1, ticker="HJKL", price="10", trend="up", at_offset=1)
    upload(dashboard, "HJKL_20260724.png", 2, ticker="QWER", price="20", trend="up", at_offset=2)
    upload(dashboard, "ZXCV_1m.png", 3, ticker="ZXCV", price="30.5", trend="none", at_offset=3)
    dashboard.signed_in()
    hjkl = page.locator("article.card[data-bot=hjkl]")
    zxcv = page.locator("article.card[data-bot=zxcv-1m]")
    expect(hjkl).to_be_visible()
    expect(zxcv).to_be_visible()
    # Both positions of the one source, not only the first.
    expect(hjkl.locator(".fact-position .held")).to_have_count(2)
    expect(hjkl.locator(".fact-position")).to_contain_text("long HJKL @ 10.00")
    expect(hjkl.locator(".fact-position")).to_contain_text("long QWER @ 20.00")
    # The other source: flat, with the reading it made and its newest image.
    expect(zxcv.locator(".fact-position dd")).to_have_text("flat")
    expect(zxcv.locator(".fact-trend dd")).not_to_have_text("\u2013")
    expect(zxcv.locator(".fact-ticker dd")).to_have_text("ZXCV")
    expect(zxcv.locator(".fact-price dd")).to_have_text("30.50")
    expect(zxcv.locator("img.thumb")).to_have_js_property("naturalWidth", 80)
    dashboard.shot("upload-source-cards")
