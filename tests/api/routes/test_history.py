"""GET /history, /latest and /uploads: filters, paging, and no way out of the uploads folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH
from tests.images import image_bytes
from trade_analysis.app import create_app
from trade_analysis.config import Settings
from trade_analysis.db import queries


def ingest(client: TestClient, ticker: str, trend: str, price: str, ts: datetime) -> dict:
    response = client.post(
        "/ingest",
        data={
            "ticker": ticker,
            "trend": trend,
            "price": price,
            "ts": ts.isoformat(),
            "bot": f"bot-{ticker}",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def keeping_client(settings: Settings) -> Iterator[TestClient]:
    """Retention past the oldest row here: its first pass runs at start-up, concurrently
    with the test, and would otherwise prune the 10-day-old row some of the time."""
    with TestClient(create_app(settings.model_copy(update={"retention_days": 365}))) as client:
        client.headers.update(AUTH)
        yield client


def test_history_is_newest_first_with_filters_and_total_count(
    keeping_client: TestClient, now: datetime
) -> None:
    client = keeping_client
    ingest(client, "AAPL", "none", "10", now - timedelta(days=10))
    ingest(client, "AAPL", "none", "11", now - timedelta(hours=2))
    ingest(client, "TSLA", "none", "12", now - timedelta(hours=1))
    ingest(client, "AAPL", "none", "13", now - timedelta(minutes=1))

    default = client.get("/api/v1/history")
    assert [r["price"] for r in default.json()] == [13, 12, 11]
    assert default.headers["X-Total-Count"] == "3"

    aapl = client.get("/api/v1/history", params={"ticker": "aapl", "days": 30})
    assert [r["price"] for r in aapl.json()] == [13, 11, 10]

    page = client.get("/api/v1/history", params={"days": 30, "limit": 2, "offset": 2})
    assert [r["price"] for r in page.json()] == [11, 10]
    assert page.headers["X-Total-Count"] == "4"

    window = client.get(
        "/api/v1/history",
        params={
            "start_ts": (now - timedelta(hours=3)).isoformat(),
            "end_ts": (now - timedelta(minutes=30)).isoformat(),
        },
    )
    assert [r["price"] for r in window.json()] == [12, 11]
    for row in default.json():
        assert row["ts"].endswith("Z")


def test_trend_filter_and_latest(client: TestClient, now: datetime) -> None:
    assert client.get("/api/v1/latest").json() is None
    ingest(client, "AAPL", "none", "10", now - timedelta(minutes=2))
    ingest(client, "MSFT", "none", "20", now - timedelta(minutes=1))
    assert client.get("/api/v1/latest").json()["ticker"] == "MSFT"
    assert client.get("/api/v1/history", params={"trend": "up"}).json() == []
    assert len(client.get("/api/v1/history", params={"trend": "none"}).json()) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 5000},
        {"days": -1},
        {"offset": -1},
        {"trend": "sideways"},
        {"start_ts": "yesterday"},
        {"ticker": "A;B"},
    ],
)
def test_bad_history_queries_are_422(client: TestClient, params: dict) -> None:
    response = client.get("/api/v1/history", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_end_before_start_is_422(client: TestClient, now: datetime) -> None:
    response = client.get(
        "/history",
        params={"start_ts": now.isoformat(), "end_ts": (now - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 422
    assert "end_ts" in response.json()["detail"]


TRAVERSALS = [
    "../secret.txt",
    "..%2Fsecret.txt",
    "..%252Fsecret.txt",
    "%2e%2e%2fsecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%5Csecret.txt",
    "..\\secret.txt",
    "%2Fetc%2Fpasswd",
    "%2F%2Fetc%2Fpasswd",
    "C:%5CWindows%5Cwin.ini",
    "....%2F%2Fsecret.txt",
    "%2E%2E",
    "%00",
    "a%00.png",
    ".incoming-x",
]


@pytest.mark.parametrize("attempt", TRAVERSALS)
def test_paths_that_try_to_leave_uploads_are_404(
    client: TestClient, settings: Settings, attempt: str
) -> None:
    # A real file lies one level up, so a traversal that worked would return it.
    (settings.data_dir / "secret.txt").write_text("SECRET")
    client.post("/ingest", files={"file": ("a.png", image_bytes(), "image/png")})
    response = client.get(f"/uploads/{attempt}")
    assert response.status_code == 404
    assert b"SECRET" not in response.content and b"root:" not in response.content


def test_total_count_is_exact_near_the_page_and_a_lower_bound_beyond(
    client: TestClient, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count stops COUNT_AHEAD rows past the page: a client paging by it still sees
    every row once, and the header says when the count is only a lower bound."""
    monkeypatch.setattr(queries, "COUNT_AHEAD", 3)
    for minute in range(20):
        ingest(client, "AAPL", "none", str(100 + minute), now - timedelta(minutes=20 - minute))

    def page(offset: int, limit: int = 5) -> tuple[list[int], int, str]:
        answer = client.get("/api/v1/history", params={"offset": offset, "limit": limit})
        assert answer.status_code == 200, answer.text
        headers = answer.headers
        prices = [row["price"] for row in answer.json()]
        return prices, int(headers["X-Total-Count"]), headers["X-Total-Count-Exact"]

    # 5 on the page and 3 ahead counted, one more seen: "at least 9".
    assert page(0) == ([119, 118, 117, 116, 115], 9, "false")
    assert page(10)[1:] == (19, "false")
    assert page(15)[1:] == (20, "true")  # the end is within reach: exact
    assert page(18) == ([101, 100], 20, "true")  # a short page ends the count
    assert page(25) == ([], 20, "true")  # past the end: counted, nothing to show
    assert page(0, limit=1000)[1:] == (20, "true")

    seen: list[int] = []
    offset, total = 0, 1
    while offset < total:  # how a client pages by the header
        prices, total, _ = page(offset)
        seen += prices
        offset += 5
    assert seen == list(range(119, 99, -1))
