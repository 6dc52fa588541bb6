"""Logs: JSON lines with LOG_FORMAT=json (uvicorn's included), plain text by default,
request ids and trading context, no secrets, no start-up noise, no print in src."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY
from tests.server import ServerProcess
from trade_analysis.logs import JsonFormatter, RedactSecrets, redact

SRC = Path(__file__).resolve().parents[1] / "src" / "trade_analysis"


def run_server(tmp_path: Path, database_url: str, **env: str) -> tuple[str, list[httpx.Response]]:
    server = ServerProcess(
        tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": database_url, **env}
    ).start()
    try:
        responses = [
            httpx.post(
                server.url + "/ingest",
                headers=AUTH,
                data={"bot": "desk-1", "ticker": "AAPL", "price": "187.5", "trend": "up"},
            ),
            httpx.get(server.url + "/trades", headers={**AUTH, "X-Request-ID": "from-proxy-42"}),
        ]
    finally:
        server.stop()
    return server.log.read_text(), responses


def test_json_logs_are_one_object_per_line_with_ids(tmp_path: Path, database_url: str) -> None:
    log, (ingested, traded) = run_server(tmp_path, database_url, LOG_FORMAT="json")
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    messages = [entry["message"] for entry in entries]
    assert any(message.startswith("trade-analysis on http://") for message in messages)
    assert any("Application startup complete" in message for message in messages)
    # uvicorn's access line carries the request's id, the one the response names.
    request_id = ingested.headers["x-request-id"]
    (access,) = [e for e in entries if e.get("request_id") == request_id and "POST" in e["message"]]
    assert access["logger"] == "uvicorn.access" and "/ingest" in access["message"]
    # The trade it made is logged with its bot and ticker (by the writer thread, which
    # stores many requests' observations in one transaction: no single request id).
    (trade,) = [e for e in entries if e["message"].startswith("trade bot=")]
    assert (trade["bot"], trade["ticker"]) == ("desk-1", "AAPL")
    # An id a proxy gave the request is kept.
    assert traded.headers["x-request-id"] == "from-proxy-42"
    assert any(e.get("request_id") == "from-proxy-42" for e in entries)


def test_text_logs_by_default_without_start_up_noise(tmp_path: Path, database_url: str) -> None:
    log, (ingested, _) = run_server(tmp_path, database_url)
    lines = [line for line in log.splitlines() if line.strip()]
    assert any("trade-analysis on http://" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)
    assert not [line for line in lines if "alembic" in line], log
    assert ingested.status_code == 200


def test_json_formatter_keeps_context_and_redacts() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "GET %s", ("/ws?token=abc&x=1",), None
    )
    record.bot, record.window = "b1", 42
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /ws?token=[redacted]&x=1"
    assert (entry["bot"], entry["window"], entry["level"]) == ("b1", 42, "INFO")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ws?token=k", "/ws?token=[redacted]"),
        (
            '"GET /uploads/a.png?token=t1.1.x HTTP/1.1"',
            '"GET /uploads/a.png?token=[redacted] HTTP/1.1"',
        ),
        ("/history?ticker=A", "/history?ticker=A"),
        ("/ws?tok%65n=k&x=1", "/ws?tok%65n=[redacted]&x=1"),
        ("/ws?x=1&TOKEN=k", "/ws?x=1&TOKEN=[redacted]"),
        ("/ws?token+=k", "/ws?token+=[redacted]"),
        ("/ws?%74%6F%6B%65%6E=k", "/ws?%74%6F%6B%65%6E=[redacted]"),
        ("/ws?api_key=k;b=2", "/ws?api_key=[redacted];b=2"),
        ("/ws?tokens=k", "/ws?tokens=k"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 1, "%s", (text,), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == expected


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_outside_text_cannot_write_a_line_of_its_own(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bot name or window title with a newline, logged as a handler installed by the
    service's logging configuration writes it: one record, one line."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter())
    logger = logging.getLogger("trade_analysis.test_forging")
    logger.addHandler(handler)
    try:
        logger.warning("trade bot=%s title=%s", "desk\nINFO forged", "Chart\r\x1b[2Jx\u2028y")
    finally:
        logger.removeHandler(handler)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    message = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert "bot=desk\\nINFO forged title=Chart\\r\\x1b[2Jx\\u2028y" in message
    assert "\x1b" not in lines[0] and "\u2028" not in lines[0]


def test_nothing_in_src_calls_print() -> None:
    calls = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    assert calls == []
