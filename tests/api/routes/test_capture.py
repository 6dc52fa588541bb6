"""Capture routes through HTTP: validation and errors (real windows are in tests/e2e)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_without_a_display_windows_is_503_and_says_what_is_missing(
    client: TestClient, no_display: None
) -> None:
    response = client.get("/windows")
    assert response.status_code == 503
    assert "set DISPLAY" in response.json()["detail"]
    assert client.post("/start_multi", json={"hwnd": 5}).status_code == 503
    assert client.get("/trades").status_code == 200  # the rest of the service works


def test_nothing_running_means_empty_workers_and_an_idle_legacy_capture(client: TestClient) -> None:
    assert client.get("/api/v1/workers").json() == []
    assert client.get("/api/v1/status").json() == {"is_running": False, "target_window": None}
    assert client.post("/api/v1/stop").json() == {"is_running": False}
    assert client.post("/api/v1/stop_all_workers").json() == {
        "ok": True,
        "detail": "stopped 0 worker(s)",
    }


def test_stopping_an_unknown_worker_is_404(client: TestClient) -> None:
    response = client.post("/stop_multi", json={"hwnd": 12345})
    assert response.status_code == 404
    assert "12345" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/start_multi", {"hwnd": 1, "interval": 0.1}, "interval"),
        ("/start_multi", {"hwnd": -1}, "hwnd"),
        ("/start_multi", {"interval": 1}, "hwnd"),
        ("/settings/crop", {"left": 1.5}, "left"),
        ("/settings/crop", {"right": -0.1}, "right"),
        ("/settings/crop", {"left": 0.6, "right": 0.5}, "no pixels"),
        ("/settings/crop", {"top": 0.5, "bottom": 0.5}, "no pixels"),
        ("/settings/crop_factor", {"factor": 0.5}, "no pixels"),
        ("/settings/crop_factor", {"factor": 2}, "factor"),
        ("/workers/7/crop", {"left": "wide"}, "left"),
        ("/workers/7/crop", {"top": 0.9, "bottom": 0.2}, "no pixels"),
        ("/settings/line_detect", {"enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_capture_settings_are_422_naming_the_field(
    client: TestClient, path: str, body: dict, detail: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert detail in str(response.json()["detail"])


def test_a_crop_for_a_window_not_running_is_saved_on_its_bot(client: TestClient) -> None:
    response = client.post(
        "/api/v1/workers/77/crop", json={"left": 0.1, "right": 0.2, "top": 0, "bottom": 0}
    )
    assert response.json() == {"ok": True, "detail": "crop saved; applied when capture starts"}
    (bot,) = client.get("/api/v1/bots").json()
    assert bot["hwnd"] == 77
    assert bot["meta"]["crop"] == {"left": 0.1, "right": 0.2, "top": 0.0, "bottom": 0.0}


def test_settings_switches_answer_ok(client: TestClient) -> None:
    assert client.post("/api/v1/settings/line_detect", json={"enabled": False}).json()["ok"] is True
    assert (
        client.post("/api/v1/settings/bring_to_foreground", json={"enabled": True}).json()["ok"]
        is True
    )
    assert client.post("/api/v1/settings/crop_factor", json={"factor": 0.05}).json()["ok"] is True
