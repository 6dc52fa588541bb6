"""POST /ingest: validates everything before writing, then stores and trades atomically."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.images import image_bytes, jpeg_declaring, png_declaring, webp_declaring
from trade_analysis.config import Settings


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.uploads_dir.glob("*") if p.is_file())


def history(client: TestClient) -> list[dict]:
    return client.get("/api/v1/history").json()


def test_ingest_with_signal_stores_the_image_and_buys(
    client: TestClient, settings: Settings
) -> None:
    png = image_bytes(".png")
    response = client.post(
        "/api/v1/ingest",
        files={"file": ("chart.png", png, "image/png")},
        data={
            "name": "Tesla",
            "ticker": "tsla",
            "price": "$250.12",
            "trend": "up",
            "meta": json.dumps({"source": "agent-1"}),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["trade"]["direction"] == "buy" and body["trade"]["price"] == 250.12
    assert body["trade"]["ticker"] == "TSLA"
    served = client.get(body["image_url"])
    assert served.status_code == 200 and served.content == png
    records = history(client)
    assert {r["kind"] for r in records} == {"observation", "trade"}
    observation = next(r for r in records if r["kind"] == "observation")
    assert observation["meta"] == {"source": "agent-1"} and observation["name"] == "Tesla"
    assert client.get("/api/v1/trades").json()["tickers"]["TSLA"]["position"] == "long"


@pytest.mark.parametrize("extension", [".jpg", ".webp"])
def test_jpeg_and_webp_are_accepted_by_content(client: TestClient, extension: str) -> None:
    response = client.post(
        "/ingest", files={"file": ("no-extension", image_bytes(extension), "text/plain")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["image_url"].endswith(extension.replace(".jpg", ".jpg"))


def test_same_signal_twice_trades_once(client: TestClient) -> None:
    for _ in range(2):
        client.post("/ingest", data={"ticker": "AAPL", "price": "10", "trend": "down"})
    trades = client.get("/trades").json()["all_trades"]
    assert [t["direction"] for t in trades] == ["buy"]


@pytest.mark.parametrize(
    ("fields", "files", "status", "detail"),
    [
        ({}, {"file": ("x.png", b"GIF89a" + b"\0" * 64, "image/png")}, 415, "image/gif"),
        ({}, {"file": ("x.png", b"%PDF-1.4 hello", "image/png")}, 415, "only PNG, JPEG and WebP"),
        ({}, {"file": ("x.png", b"", "image/png")}, 422, "empty"),
        ({"meta": "[1, 2]"}, None, 422, "JSON object"),
        ({"meta": "{not json"}, None, 422, "not valid JSON"),
        ({"price": "twelve", "ticker": "AAPL", "trend": "up"}, None, 422, "twelve"),
        ({"price": "-5", "ticker": "AAPL", "trend": "up"}, None, 422, "-5"),
        ({"trend": "sideways"}, None, 422, "sideways"),
        ({"ticker": "AA PL;DROP"}, None, 422, "ticker"),
        ({"bot": "../../etc"}, None, 422, "bot"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client: TestClient,
    settings: Settings,
    fields: dict,
    files: dict | None,
    status: int,
    detail: str,
) -> None:
    response = client.post("/ingest", data=fields, files=files)
    assert response.status_code == status, response.text
    assert detail in json.dumps(response.json()["detail"])
    assert history(client) == []
    assert stored_files(settings) == []


def test_oversized_upload_is_413_and_leaves_nothing(client: TestClient, settings: Settings) -> None:
    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * (settings.max_upload_bytes + 10)
    response = client.post("/ingest", files={"file": ("big.png", too_big, "image/png")})
    assert response.status_code == 413
    assert "MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert history(client) == [] and stored_files(settings) == []


def test_oversized_streamed_upload_without_length_is_cut_off(client: TestClient) -> None:
    def chunks():
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        yield boundary
        for _ in range(64):
            yield b"\0" * 65536
        yield b"\r\n--b--\r\n"

    response = client.post(
        "/ingest",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413


def test_failed_row_write_removes_the_file(client: TestClient, settings: Settings) -> None:
    services = client.app.state.services

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    services.ledger.record_observations = broken
    with pytest.raises(RuntimeError):
        client.post("/ingest", files={"file": ("a.png", image_bytes(), "image/png")})
    assert stored_files(settings) == []


def test_a_text_value_where_the_file_goes_is_422_naming_the_field(
    client: TestClient, settings: Settings
) -> None:
    response = client.post("/ingest", data={"file": "not a file", "ticker": "AAPL"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert history(client) == [] and stored_files(settings) == []


def test_a_second_file_is_refused_before_anything_is_written(
    client: TestClient, settings: Settings
) -> None:
    png = image_bytes(".png")
    response = client.post(
        "/ingest",
        files=[("file", ("a.png", png, "image/png")), ("other", ("b.png", png, "image/png"))],
    )
    assert response.status_code == 400
    assert "files" in response.json()["detail"].lower()
    assert history(client) == [] and stored_files(settings) == []


def test_fields_the_form_does_not_know_are_ignored(client: TestClient) -> None:
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", image_bytes(".png"), "image/png")},
        data={"ticker": "msft", "price": "10", "trend": "up", "source": "agent-7"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["trade"]["ticker"] == "MSFT"


def test_the_form_is_documented_for_clients(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/ingest"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "name", "ticker", "price", "trend", "meta", "bot", "ts"} <= set(
        schema["properties"]
    )
    assert schema["properties"]["file"]["format"] == "binary"


def test_empty_fields_count_as_omitted(client: TestClient) -> None:
    response = client.post(
        "/ingest",
        data={"ts": "", "bot": "", "name": "", "ticker": "aapl", "price": "5", "trend": "up"},
        # What a browser sends for a file input left empty.
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image_url"] is None and body["trade"]["bot"] == "ingest"
    (observation,) = [r for r in history(client) if r["kind"] == "observation"]
    assert observation["name"] is None


def test_a_field_sent_as_a_file_is_422_naming_it(client: TestClient, settings: Settings) -> None:
    response = client.post(
        "/ingest",
        data={"ticker": "AAPL", "price": "5", "trend": "up"},
        files={"bot": ("bot.txt", b"w1", "text/plain")},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "bot"]
    assert history(client) == [] and stored_files(settings) == []


def upload_with_key(
    client: TestClient, key: str, seed: int = 0, price: str = "10", path: str = "/ingest"
):
    return client.post(
        path,
        headers={"Idempotency-Key": key},
        files={"file": ("chart.png", image_bytes(seed=seed), "image/png")},
        data={"ticker": "AAPL", "price": price, "trend": "up", "bot": "desk"},
    )


def test_a_retried_upload_is_stored_and_traded_once_and_answered_as_the_first(
    client: TestClient, settings: Settings
) -> None:
    first = upload_with_key(client, "6c1f7d0e-retry-me")
    # The client never saw the answer and sends the same upload again.
    retry = upload_with_key(client, "6c1f7d0e-retry-me")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert first.json()["trade"]["direction"] == "buy"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [r["kind"] for r in history(client)].count("observation") == 1
    assert len(client.get("/trades").json()["all_trades"]) == 1
    assert [p.name for p in stored_files(settings)] == [first.json()["image_url"].split("/")[-1]]
    # Another key is another upload.
    other = upload_with_key(client, "another-key", price="11")
    assert other.json()["observation_id"] != first.json()["observation_id"]


@pytest.mark.parametrize(
    ("path", "changed"), [("/ingest", {"price": "11"}), ("/api/v1/ingest", {"seed": 1})]
)
def test_a_key_reused_for_another_request_is_a_422_naming_it_and_stores_nothing(
    client: TestClient, settings: Settings, path: str, changed: dict
) -> None:
    first = upload_with_key(client, "reused-key")
    assert first.status_code == 200, first.text
    other = upload_with_key(client, "reused-key", **changed, path=path)
    assert other.status_code == 422, other.text
    assert other.json() == {
        "detail": "Idempotency-Key 'reused-key' was used for a different request"
    }
    assert [r["kind"] for r in history(client)].count("observation") == 1
    assert len(client.get("/trades").json()["all_trades"]) == 1
    assert [p.name for p in stored_files(settings)] == [first.json()["image_url"].split("/")[-1]]
    # The first request sent again is still answered as it was.
    retry = upload_with_key(client, "reused-key")
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_a_reused_key_fails_alone_in_a_group_and_the_fresh_upload_beside_it_is_stored(
    client: TestClient, settings: Settings
) -> None:
    services = client.app.state.services
    first = upload_with_key(client, "reused-key")
    assert first.status_code == 200, first.text
    # Hold the writer's next transaction at the door, so the two uploads after it queue
    # and share the one after.
    record_observations = services.ledger.record_observations
    groups: list[int] = []
    entered, gate = threading.Event(), threading.Event()

    def gated(batch, **kwargs):
        groups.append(len(batch))
        entered.set()
        assert gate.wait(10)
        return record_observations(batch, **kwargs)

    services.ledger.record_observations = gated
    answers: dict[str, object] = {}

    def send(name: str, key: str, price: str) -> None:
        answers[name] = upload_with_key(client, key, price=price)

    holder = threading.Thread(target=send, args=("holder", "holder-key", "10"))
    holder.start()
    assert entered.wait(10)
    senders = [
        threading.Thread(target=send, args=("reused", "reused-key", "11")),
        threading.Thread(target=send, args=("fresh", "fresh-key", "12")),
    ]
    for sender in senders:
        sender.start()
    for _ in range(1000):  # until both wait behind the held transaction
        if services.writer.depth[0] == 3:
            break
        time.sleep(0.01)
    assert services.writer.depth[0] == 3
    gate.set()
    for thread in [holder, *senders]:
        thread.join(10)
    assert groups == [1, 2]  # one group, never split to store its uploads one at a time
    reused, fresh = answers["reused"], answers["fresh"]
    assert reused.status_code == 422 and "reused-key" in reused.json()["detail"]
    assert fresh.status_code == 200, fresh.text
    assert "Idempotent-Replayed" not in fresh.headers
    observations = [r for r in history(client) if r["kind"] == "observation"]
    assert len(observations) == 3  # the first, the holder and the fresh one
    names = {p.name for p in stored_files(settings)}
    assert fresh.json()["image_url"].split("/")[-1] in names and len(names) == 3


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "naïve"])
def test_a_malformed_idempotency_key_is_a_422_naming_the_header(
    client: TestClient, settings: Settings, key: str
) -> None:
    response = client.post(
        "/ingest",
        headers={"Idempotency-Key": key.encode()},
        data={"ticker": "AAPL", "price": "10", "trend": "up"},
    )
    assert response.status_code == 422, response.text
    assert "idempotency-key" in json.dumps(response.json()["detail"]).lower()
    assert history(client) == [] and stored_files(settings) == []


def _chart_png(rising: bool) -> bytes:
    """A line chart whose last leg rises or falls (its right 16% is cut by the default crop)."""
    canvas = np.full((400, 640, 3), 255, np.uint8)
    xs = np.linspace(10, 520, 120)
    ys = np.concatenate((np.linspace(300, 100, 60), np.linspace(100, 350, 60)))
    if rising:
        ys = 400 - ys
    points = np.stack((xs, ys), axis=1).round().astype(np.int32)
    cv2.polylines(canvas, [points], False, (30, 160, 30), 2, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", canvas)
    assert ok
    return png.tobytes()


def test_an_upload_without_a_trend_is_read_and_traded(client: TestClient) -> None:
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", _chart_png(rising=True), "image/png")},
        data={"name": "AAPL $175.23 - Robinhood"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reading"]["kind"] == "line" and body["reading"]["trend"] == "up"
    assert body["reading"]["reason"] and body["reading"]["confidence"] > 0
    assert body["trade"]["direction"] == "buy" and body["trade"]["ticker"] == "AAPL"
    assert body["trade"]["price"] == 175.23
    record = next(r for r in history(client) if r["kind"] == "observation")
    assert record["trend"] == "up" and record["meta"]["reading"] == body["reading"]


def test_fields_sent_win_over_what_is_read(client: TestClient) -> None:
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", _chart_png(rising=True), "image/png")},
        data={"name": "AAPL $175.23 - Robinhood", "ticker": "MSFT", "trend": "none"},
    )
    body = response.json()
    assert body["reading"]["trend"] == "up"  # what was read, reported
    assert body["trade"] is None  # the trend sent (none) decided
    record = next(r for r in history(client) if r["kind"] == "observation")
    assert (record["ticker"], record["trend"], record["price"]) == ("MSFT", "none", 175.23)


def test_an_upload_with_every_field_is_not_read(client: TestClient) -> None:
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", _chart_png(rising=False), "image/png")},
        data={"ticker": "TSLA", "price": "250", "trend": "up"},
    )
    assert response.json()["reading"] is None and response.json()["trade"]["direction"] == "buy"


def test_the_crop_field_decides_what_is_read(client: TestClient) -> None:
    """Cropping away the last leg leaves the rise before it."""
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", _chart_png(rising=False), "image/png")},
        data={"name": "AAPL 175.23", "crop": "0,0.55,0,0"},
    )
    assert response.json()["reading"]["trend"] == "up", response.text


@pytest.mark.parametrize("crop", ["0,1,0,0", "wide", "0,0.2,0"])
def test_a_bad_crop_is_422_naming_it_and_nothing_is_written(
    client: TestClient, settings: Settings, crop: str
) -> None:
    response = client.post(
        "/ingest",
        files={"file": ("chart.png", _chart_png(rising=True), "image/png")},
        data={"name": "AAPL 175.23", "crop": crop},
    )
    assert response.status_code == 422 and "crop" in response.text
    assert stored_files(settings) == [] and history(client) == []


HUGE_IMAGES = {
    "png": png_declaring(50000, 50000),
    "jpeg": jpeg_declaring(40000, 30000),
    "webp-vp8": webp_declaring(16000, 16000, "VP8 "),
    "webp-vp8l": webp_declaring(16000, 16000, "VP8L"),
    "webp-vp8x": webp_declaring(40000, 30000, "VP8X"),
}


@pytest.mark.parametrize("kind", sorted(HUGE_IMAGES))
@pytest.mark.parametrize(
    "fields",
    [{}, {"ticker": "AAPL", "price": "10", "trend": "up"}],
    ids=["read", "stored"],
)
def test_an_image_declaring_too_many_pixels_is_413_before_decoding_or_storing(
    client: TestClient, settings: Settings, kind: str, fields: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/ingest", files={"file": ("chart", HUGE_IMAGES[kind], "image/png")}, data=fields
    )
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert "pixels" in detail and "MAX_UPLOAD_PIXELS" in detail and " x " in detail
    assert stored_files(settings) == [] and history(client) == []


def test_the_pixel_cap_is_a_setting_and_the_seed_face_keeps_it(
    client: TestClient, settings: Settings
) -> None:
    settings.max_upload_pixels = 40 * 60 - 1
    response = client.post("/ingest", files={"file": ("chart", image_bytes(".png"), "image/png")})
    assert response.status_code == 413 and "60 x 40 pixels (2,400 in all)" in response.text
    settings.max_upload_pixels = 40 * 60
    response = client.post("/ingest", files={"file": ("chart", image_bytes(".png"), "image/png")})
    assert response.status_code == 200, response.text


def test_uploads_without_bot_are_bots_by_their_file_names(client: TestClient) -> None:
    """Two sources never share a bot: each is named from its file name's stem (the moving
    numbers left out, as a window's title binds), and says what it read."""
    answers = []
    for filename, ticker, seed in [
        ("AAPL_1m_20260723_193000.png", "AAPL", 1),
        ("MSFT_5m_20260723_193000.png", "MSFT", 2),
        ("AAPL_1m_20260723_193001.png", "AAPL", 3),
    ]:
        response = client.post(
            "/ingest",
            files={"file": (filename, image_bytes(".png", seed=seed), "image/png")},
            data={"ticker": ticker, "price": "10.25", "trend": "none"},
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert [a["bot"] for a in answers] == ["aapl-1m", "msft-5m", "aapl-1m"]
    # No trade happened, yet the answer says what was used.
    first = answers[0]
    assert first["trade"] is None
    assert (first["ticker"], first["price"], first["trend"]) == ("AAPL", 10.25, "none")
    bots = {bot["bot"] for bot in client.get("/api/v1/bots").json()}
    assert {"aapl-1m", "msft-5m"} <= bots and "ingest" not in bots
