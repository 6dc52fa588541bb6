"""The wire models: the WebSocket page is written from them, and what the stream sends
through its own door is exactly the shapes they document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel

from tests.conftest import AUTH
from trade_analysis.live.events import Event
from trade_analysis.wire import (
    EVENT_MODELS,
    BotDeleted,
    CompactSummary,
    ErrorData,
    EventType,
    HelloData,
    TradeEntry,
    event_type_of,
)
from trade_analysis.wire_page import websocket_page

PAGE = Path(__file__).parents[1] / "docs" / "websocket.md"


def test_the_websocket_page_is_written_from_the_models() -> None:
    assert PAGE.read_text() == websocket_page(), (
        "docs/websocket.md drifted from src/trade_analysis/wire.py: run "
        "`.venv/bin/python -m trade_analysis.wire_page > docs/websocket.md`"
    )


def test_every_event_type_has_its_models_and_a_section() -> None:
    assert set(EVENT_MODELS) == set(EventType)
    page = websocket_page()
    for event_type, models in EVENT_MODELS.items():
        assert f"| `{event_type.value}` |" in page
        for model in models:
            assert f"### {model.__name__}\n" in page
            assert event_type_of(model.model_construct()) is event_type


def test_an_event_takes_its_type_from_its_model() -> None:
    event = Event.of(BotDeleted(bot="tsla-robinhood"))
    assert event.type is EventType.BOT
    assert event.to_json() == '{"type":"bot","data":{"bot":"tsla-robinhood","deleted":true}}'


def exactly(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """`data` has the model's fields, no more, no fewer, and validates."""
    assert set(data) == set(model.model_fields), model.__name__
    return model.model_validate(data)


def test_the_stream_sends_the_documented_shapes(client: TestClient) -> None:
    with client.websocket_connect("/api/v1/ws", headers=AUTH) as socket:
        hello = socket.receive_json()
        assert hello["type"] == "hello"
        exactly(HelloData, hello["data"])
        socket.send_json({"type": "subscribe", "data": ["trade", "summary"]})
        socket.send_json({"type": "nonsense"})
        error = socket.receive_json()
        assert error["type"] == "error"
        exactly(ErrorData, error["data"])
        answer = client.post(
            "/manual_trade", json={"ticker": "AAPL", "price": "189.5", "direction": "buy"}
        )
        assert answer.status_code == 200, answer.text
        received = {}
        while set(received) != {"trade", "summary"}:
            message = socket.receive_json()
            received[message["type"]] = message["data"]
    trade = exactly(TradeEntry, received["trade"])
    assert isinstance(trade, TradeEntry) and trade.ticker == "AAPL"
    summary = exactly(CompactSummary, received["summary"])
    assert isinstance(summary, CompactSummary) and "AAPL" in summary.tickers
