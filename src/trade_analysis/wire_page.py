"""`docs/websocket.md`, written from the live stream's wire models (`wire.EVENT_MODELS`).

    .venv/bin/python -m trade_analysis.wire_page > docs/websocket.md

tests/test_wire.py fails when the page drifts from the models.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from trade_analysis.wire import EVENT_MODELS


def _type_name(schema: dict[str, Any]) -> str:
    """A JSON Schema fragment as a short type: `string`, `TradeEntry`, `list of TradeEntry`."""
    if "$ref" in schema:
        return (
            f"[{schema['$ref'].rsplit('/', 1)[-1]}](#{schema['$ref'].rsplit('/', 1)[-1].lower()})"
        )
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "anyOf" in schema:
        return " or ".join(_type_name(option) for option in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type_name(schema['additionalProperties'])}"
    return str(kind)


def _table(name: str, schema: dict[str, Any]) -> list[str]:
    doc = " ".join(str(schema.get("description", "")).split())
    lines = [f"### {name}", ""] + ([doc, ""] if doc else [])
    if "enum" in schema:
        values = ", ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
        return [*lines, f"One of {values}.", ""]
    lines += ["| field | type | meaning |", "|---|---|---|"]
    for field_name, field_schema in schema.get("properties", {}).items():
        meaning = " ".join(str(field_schema.get("description", "")).split())
        lines.append(f"| `{field_name}` | {_type_name(field_schema)} | {meaning} |")
    return [*lines, ""]


def websocket_page() -> str:
    """`docs/websocket.md`: the typed stream's messages, written from `EVENT_MODELS`."""
    lines = [
        "# The live stream's messages",
        "",
        "<!-- Written by `.venv/bin/python -m trade_analysis.wire_page > docs/websocket.md`",
        "     from src/trade_analysis/wire.py; tests/test_wire.py fails when it drifts. -->",
        "",
        '`/api/v1/live` sends JSON text messages `{"type": ..., "data": ...}`. A client',
        'may send `{"type": "subscribe", "data": ["trade", "summary"]}` to receive only',
        "those types (`hello` and `error` always come). `hello`, `trade` and `error` are",
        "never dropped; the others are droppable: a client that falls behind gets the",
        "newest of each (type, window or bot) instead of a backlog. Money is a JSON number;",
        "times are ISO-8601 text in UTC. Every field is present in every message (null when it",
        "has no value).",
        "",
        "| type | `data` is |",
        "|---|---|",
    ]
    for event_type, models in EVENT_MODELS.items():
        shapes = " or ".join(f"[{m.__name__}](#{m.__name__.lower()})" for m in models)
        lines.append(f"| `{event_type.value}` | {shapes} |")
    lines += ["", "## The shapes", ""]
    definitions: dict[str, dict[str, Any]] = {}
    for models in EVENT_MODELS.values():
        for model in models:
            schema = model.model_json_schema(mode="serialization")
            definitions.update(schema.pop("$defs", {}))
            definitions[model.__name__] = schema
    for name in sorted(definitions):
        lines += _table(name, definitions[name])
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - exercised through tests/test_wire.py
    sys.stdout.write(websocket_page())
