"""The seed face through HTTP: the original's requests and answers over the typed core."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.capture.test_worker_and_manager import ScriptedDesktop, ScriptedSource, chart
from trade_analysis.capture.frame import Frame
from trade_analysis.config import Settings


class HeldSource(ScriptedSource):
    """Lists windows at once but holds every grab until released."""

    def __init__(self, desktop: ScriptedDesktop, release: threading.Event) -> None:
        super().__init__(desktop)
        self.release = release

    def capture(self, hwnd: int) -> Frame:
        self.release.wait(10)
        return super().capture(hwnd)


@pytest.fixture
def held_desktop(client: TestClient) -> Iterator[tuple[ScriptedDesktop, threading.Event]]:
    desktop, release = ScriptedDesktop(), threading.Event()
    desktop.show(501, "AAPL 175.23 - MyApp", chart(rising=True))
    manager = client.app.state.services.capture.manager
    manager._source_factory = lambda: HeldSource(desktop, release)
    yield desktop, release
    release.set()


def test_capture_routes_take_query_parameters_or_a_json_body(
    client: TestClient, held_desktop: tuple[ScriptedDesktop, threading.Event]
) -> None:
    by_query = client.post("/start_multi", params={"hwnd": 501, "interval": "0.5"})
    assert by_query.status_code == 200, by_query.text
    assert (by_query.json()["started"], by_query.json()["hwnd"]) == (True, 501)
    # Before its first frame a worker's last_result is {}, as the original's was.
    (worker,) = client.get("/workers").json()
    assert worker["last_result"] == {} and worker["status"]["last_result"] == {}
    held_desktop[1].set()  # the first grab goes ahead
    by_body = client.post("/start_multi", json={"hwnd": 501, "interval": 1})
    assert by_body.status_code == 200 and by_body.json()["interval"] == 1.0
    assert client.post("/stop_multi?hwnd=501").json()["stopped"] is True


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/start_multi", {"interval": 1}, "hwnd"),
        ("/start", {}, "hwnd"),
        ("/stop_multi", {"hwnd": "abc"}, "hwnd"),
        ("/start_multi", {"hwnd": 1, "interval": 0.1}, "interval"),
        ("/settings/crop", {"bottom": 1.5}, "bottom"),
        ("/settings/crop", {"left": 0.6, "right": 0.5}, "no pixels"),
        ("/settings/crop_factor", {}, "factor"),
        ("/settings/line_detect", {"enabled": "maybe"}, "enabled"),
        ("/workers/7/crop", {"right": -1}, "right"),
    ],
)
def test_bad_query_parameters_are_422_naming_them(
    client: TestClient, path: str, params: dict, named: str
) -> None:
    response = client.post(path, params=params)
    assert response.status_code == 422, response.text
    assert named in str(response.json()["detail"])


def test_a_body_that_is_not_a_json_object_is_422(client: TestClient) -> None:
    response = client.post(
        "/settings/crop", content=b"[1, 2]", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "JSON object" in str(response.json()["detail"])


def test_crops_change_only_the_edges_given_on_both_faces(client: TestClient) -> None:
    client.post("/settings/crop", params={"left": 0.1})
    client.post("/api/v1/settings/crop", json={"top": 0.2})
    crop = client.post("/settings/crop", params={"bottom": 0.05}).json()
    assert crop == {"left": 0.1, "right": 0.16, "top": 0.2, "bottom": 0.05}
    own = client.post("/workers/9/crop", params={"right": 0.3}).json()
    assert own == {
        "hwnd": 9,
        "left": 0.1,
        "right": 0.3,
        "top": 0.2,
        "bottom": 0.05,
        "applied": "persisted",
    }
    again = client.post("/workers/9/crop", params={"left": 0}).json()
    assert (again["left"], again["right"]) == (0.0, 0.3)  # its own crop, not the default


def test_idle_legacy_capture_answers_the_whole_get_status(client: TestClient) -> None:
    status = client.get("/status").json()
    assert status["is_running"] is False and status["last_result"] == {}
    assert {"interval", "keep_last_n", "output_folder", "runtime_seconds"} <= set(status)
    assert client.post("/stop").json()["stopped"] is True
    assert client.post("/stop_all_workers").json() == {"stopped": [], "count": 0}
    # The typed face keeps its own answers.
    assert client.get("/api/v1/status").json() == {"is_running": False, "target_window": None}


def test_manual_up_and_down_are_signals_the_simulator_acts_on(client: TestClient) -> None:
    first = client.post("/manual_trade", json={"ticker": "AMD", "price": 100, "direction": "up"})
    assert first.json()["ok"] is True and first.json()["trade"]["direction"] == "buy"
    same = client.post("/manual_trade", json={"ticker": "AMD", "price": 100, "direction": "up"})
    assert same.json() == {"ok": True, "trade": None}  # an unchanged signal trades nothing
    down = client.post(
        "/api/v1/manual_trade", json={"ticker": "AMD", "price": 98, "direction": "down"}
    )
    assert down.json()["trade"]["direction"] == "sell" and down.json()["trade"]["profit"] == -2.0
    amd = client.get("/trades").json()["tickers"]["AMD"]
    assert (amd["win_rate"], amd["last_direction"], amd["losses"]) == (0.0, "sell", 1)


def test_history_without_limit_stops_at_the_cap(settings: Settings) -> None:
    from tests.conftest import AUTH
    from trade_analysis.app import create_app

    capped = settings.model_copy(update={"history_max_rows": 3})
    with TestClient(create_app(capped)) as client:
        client.headers.update(AUTH)
        for price in ("1", "2", "3", "4", "5"):
            client.post("/ingest", data={"ticker": "CAP", "price": price, "trend": "none"})
        response = client.get("/history")
        assert [r["price"] for r in response.json()] == ["5", "4", "3"]
        assert response.headers["X-Total-Count"] == "5"
        assert len(client.get("/history", params={"limit": 50}).json()) == 3


def test_both_faces_are_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    start = document["paths"]["/start_multi"]["post"]
    assert start["tags"] == ["seed"]
    assert {p["name"] for p in start["parameters"] if p["in"] == "query"} >= {"hwnd", "interval"}
    assert document["paths"]["/api/v1/start_multi"]["post"]["tags"] == ["capture"]
    assert document["paths"]["/windows"]["get"]["tags"] == ["seed"]
    seed_ops = [
        op
        for path, ops in document["paths"].items()
        # /metrics is Prometheus's, not an API face's.
        if not path.startswith("/api/v1") and path != "/metrics"
        for op in ops.values()
    ]
    assert seed_ops and all(op["tags"] == ["seed"] for op in seed_ops)


def test_history_filters_trade_records_by_buy_and_sell(client: TestClient) -> None:
    client.post("/ingest", data={"ticker": "FLT", "price": "10", "trend": "up"})
    client.post("/ingest", data={"ticker": "GLD", "price": "20", "trend": "up"})
    client.post("/ingest", data={"ticker": "GLD", "price": "21", "trend": "down"})
    bought = client.get("/history", params={"trend": "buy"}).json()
    sold = client.get("/history", params={"trend": "sell"}).json()
    assert [(r["ticker"], r["trend"], r["price"]) for r in bought] == [("FLT", "buy", "$10.00")]
    assert [(r["ticker"], r["trend"], r["sell_price"]) for r in sold] == [("GLD", "sell", 21)]
    assert {r["trend"] for r in client.get("/history", params={"trend": "up"}).json()} == {"up"}
    assert client.get("/history", params={"trend": "sideways"}).status_code == 422
