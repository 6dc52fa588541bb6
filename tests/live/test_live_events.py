from __future__ import annotations

import json

import pytest

from trade_analysis.live.events import (
    NEVER_DROPPED,
    Event,
    EventType,
    InvalidEvent,
    coalesce_key,
    parse_topics,
)


def test_to_json_is_compact_type_and_data() -> None:
    event = Event(EventType.TRADE, {"bot_id": 1, "price": "189.23", "ticker": "AAPL"})
    text = event.to_json()
    assert text == '{"type":"trade","data":{"bot_id":1,"price":"189.23","ticker":"AAPL"}}'
    assert Event.from_json(text) == event


def test_from_json_round_trips_every_type() -> None:
    for event_type in EventType:
        event = Event(event_type, {"hwnd": 7, "text": "ünïcode"})
        assert Event.from_json(event.to_json()) == event


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"type": "nope", "data": {}}', "unknown event type 'nope'"),
        ('{"data": {}}', "unknown event type None"),
        ('{"type": "trade", "data": [1]}', "'data' must be a JSON object"),
    ],
)
def test_from_json_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        Event.from_json(text)


def test_never_dropped_types() -> None:
    assert {EventType.TRADE, EventType.HELLO, EventType.ERROR} == NEVER_DROPPED
    assert not Event(EventType.TRADE, {}).droppable
    assert Event(EventType.SNAPSHOT, {}).droppable
    assert Event(EventType.TRADE, {"hwnd": 1}).key is None


def test_coalesce_key_separates_entities_and_types() -> None:
    frame_1 = coalesce_key(EventType.FRAME, {"hwnd": 1, "jpeg": "a"})
    assert frame_1 == coalesce_key(EventType.FRAME, {"hwnd": 1, "jpeg": "b"})
    assert frame_1 != coalesce_key(EventType.FRAME, {"hwnd": 2, "jpeg": "a"})
    assert frame_1 != coalesce_key(EventType.WORKER, {"hwnd": 1})
    # A bot given as an object is keyed by its id; unhashable values still key.
    assert coalesce_key(EventType.BOT, {"bot": {"id": 3, "name": "x"}}) == coalesce_key(
        EventType.BOT, {"bot": {"id": 3, "name": "y"}}
    )
    assert coalesce_key(EventType.SUMMARY, {"bot": [1, 2]}) != coalesce_key(
        EventType.SUMMARY, {"bot": [1, 3]}
    )
    hash(coalesce_key(EventType.SUMMARY, {"bot": {"no": "id"}}))


def test_parse_topics() -> None:
    assert parse_topics(["trade", "summary"]) == {EventType.TRADE, EventType.SUMMARY}
    assert parse_topics([]) == frozenset()
    with pytest.raises(InvalidEvent, match="'bogus'"):
        parse_topics(["trade", "bogus"])
    with pytest.raises(InvalidEvent, match="list"):
        parse_topics("trade")
    with pytest.raises(InvalidEvent, match="list"):
        parse_topics(5)


def test_data_is_emitted_as_given() -> None:
    data = {"nested": {"list": [1, 2.5, None, True]}}
    assert json.loads(Event(EventType.SUMMARY, data).to_json())["data"] == data
