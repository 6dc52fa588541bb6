"""Trade screenshots: the five frames before and the five after a trade are kept with it,
listed by /screenshots?trade_id= and served by /trade_screenshots/{path}, and nothing
else is reachable through that path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.images import image_bytes
from trade_analysis.config import Settings
from trade_analysis.domain import to_wire, utcnow


def upload_frames(client: TestClient, trends: list[str], bot: str = "frames") -> list[dict]:
    """One upload per trend, each its own image, a second apart; their answers."""
    start = utcnow() - timedelta(seconds=len(trends) + 5)
    answers = []
    for index, trend in enumerate(trends):
        response = client.post(
            "/api/v1/ingest",
            files={"file": (f"frame{index}.png", image_bytes(".png", seed=index), "image/png")},
            data={
                "bot": bot,
                "ticker": "AAPL",
                "price": f"{100 + index}.50",
                "trend": trend,
                "ts": to_wire(start + timedelta(seconds=index)),
            },
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


def test_five_frames_before_and_five_after_a_buy_are_listed_and_served(
    client: TestClient,
) -> None:
    # Six quiet frames, the buy on the seventh, then six more: 3..7 before, 8..12 after.
    trends = ["none"] * 6 + ["up"] + ["none"] * 6
    answers = upload_frames(client, trends)
    buy = answers[6]["trade"]
    assert buy["direction"] == "buy"

    listed = client.get("/screenshots", params={"trade_id": str(buy["id"])})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["trade_id"] == str(buy["id"])
    shots = body["screenshots"]
    assert [shot["when"] for shot in shots] == ["before"] * 5 + ["after"] * 5
    assert {shot["type"] for shot in shots} == {"buy"}
    assert {shot["price"] for shot in shots} == {"106.50"}
    assert [shot["ts"] for shot in shots] == sorted(shot["ts"] for shot in shots)
    for shot, index in zip(shots, range(2, 12), strict=True):
        assert set(shot) >= {"filename", "path", "ts", "price", "type"}
        assert shot["url"] == "/trade_screenshots/" + shot["path"]
        served = client.get(shot["url"])
        assert served.status_code == 200
        assert served.content == image_bytes(".png", seed=index)
    # The typed API lists and serves the same.
    typed = client.get("/api/v1/screenshots", params={"trade_id": buy["id"]}).json()
    assert typed == body
    assert client.get("/api/v1" + shots[0]["url"]).content == image_bytes(".png", seed=2)


def test_a_sell_keeps_its_own_frames_and_the_record_time_lists_both_trades(
    client: TestClient,
) -> None:
    answers = upload_frames(client, ["none", "up", "none", "down", "none"])
    buy, sell = answers[1]["trade"], answers[3]["trade"]
    assert (buy["direction"], sell["direction"]) == ("buy", "sell")
    sold = client.get("/screenshots", params={"trade_id": sell["id"]}).json()["screenshots"]
    assert [(s["type"], s["when"]) for s in sold] == [("sell", "before")] * 4 + [("sell", "after")]
    # The original's trade id: the time the trade record was bought at.
    record = next(r for r in client.get("/history").json() if r["kind"] == "trade")
    both = client.get("/screenshots", params={"trade_id": record["buy_time"]}).json()
    assert {s["type"] for s in both["screenshots"]} == {"buy", "sell"}


def test_screenshots_need_a_trade_id_and_an_unknown_one_lists_none(client: TestClient) -> None:
    missing = client.get("/screenshots")
    assert missing.status_code == 400 and missing.json() == {"detail": "trade_id required"}
    assert client.get("/screenshots", params={"trade_id": "  "}).status_code == 400
    for unknown in ("999999", "not-a-time", "2026-07-23T14:30:01.123450Z"):
        answer = client.get("/screenshots", params={"trade_id": unknown})
        assert answer.status_code == 200
        assert answer.json() == {"trade_id": unknown, "screenshots": []}


@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/uploads/{upload}",
        "..%2Fuploads%2F{upload}",
        "1/..%2F..%2Fuploads%2F{upload}",
        "%2Fetc%2Fpasswd",
        "{trade}/buy_before_01_20260101_000000_000.jpg%2F..%2F..%2F..%2Fuploads%2F{upload}",
        "{trade}%2F..%2F..%2Fuploads%2F{upload}",
    ],
)
def test_a_path_outside_the_kept_frames_is_refused(
    client: TestClient, settings: Settings, path: str
) -> None:
    answers = upload_frames(client, ["none", "up"])
    upload = answers[0]["image_url"].rsplit("/", 1)[-1]
    assert (settings.uploads_dir / upload).is_file()
    url = "/trade_screenshots/" + path.format(upload=upload, trade=answers[1]["trade"]["id"])
    response = client.get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "file not found"}


def test_deleting_the_bot_removes_its_trade_frames(client: TestClient, settings: Settings) -> None:
    answers = upload_frames(client, ["none", "up", "none"], bot="gone")
    trade_id = answers[1]["trade"]["id"]
    url = client.get("/screenshots", params={"trade_id": trade_id}).json()["screenshots"][0]["url"]
    assert client.get(url).status_code == 200
    assert client.delete("/api/v1/bots/gone").status_code == 200
    assert client.get(url).status_code == 404
    assert client.get("/screenshots", params={"trade_id": trade_id}).json()["screenshots"] == []
    assert not (settings.trade_screenshots_dir / str(trade_id)).exists()
