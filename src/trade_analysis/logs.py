"""Logging: plain text by default, one JSON object per line with LOG_FORMAT=json.

Whatever the format, a credential in a logged URL's query (`token=`, however
it is spelled: `tok%65n=`, `TOKEN=`, `token+=`) is redacted (WebSocket, image
and docs URLs carry one there); control characters from outside (a newline in
a bot name, a window title or a request path) are escaped, so no input can
write a line of its own; and libraries that chatter at INFO on every start
(Alembic) are quieted. A request's id rides a context variable, so every
line logged while serving it carries the id, uvicorn's access line included.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

LogFormat = Literal["text", "json"]

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# Extras a log call may pass (`extra={"bot": ..., "ticker": ...}`) that JSON lines keep.
CONTEXT_FIELDS = ("bot", "window", "ticker")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines are noise on every start (Alembic's plugin and migration set-up).
QUIET_LOGGERS = ("alembic",)
# Loggers whose lines carry request URLs, and whose handlers JSON mode takes over.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")

# Query parameters whose value is a credential, compared once decoded and lower-cased.
SECRET_PARAMETERS = frozenset({"token", "key", "api_key", "apikey", "access_token"})
_PARAMETER = re.compile(r"(?P<lead>^|[?&;\s])(?P<name>[^=&;?#\s\"']+)=(?P<value>[^&;#\s\"']*)")
# C0 and C1 controls, DEL and the Unicode line separators: each written as an escape.
_CONTROLS = {
    code: repr(chr(code))[1:-1] for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


def _decoded_name(name: str) -> str:
    """As a server would read it, however often it was percent-encoded."""
    for _ in range(3):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return name.strip().lower()


def _redact_parameter(match: re.Match[str]) -> str:
    if _decoded_name(match["name"]) not in SECRET_PARAMETERS:
        return match[0]
    return f"{match['lead']}{match['name']}=[redacted]"


def redact(text: str) -> str:
    """`...?token=SECRET&x=1` -> `...?token=[redacted]&x=1`, `?tok%65n=` and the like too."""
    return _PARAMETER.sub(_redact_parameter, text) if "=" in text else text


def escape_controls(text: str) -> str:
    """`a\nb` -> `a\\nb`: one record, one line, whatever its arguments held."""
    return text.translate(_CONTROLS)


def safe(text: str) -> str:
    return escape_controls(redact(text))


class RedactSecrets(logging.Filter):
    """On a logger or a handler: rewrites the record's message and arguments (credentials
    redacted, control characters escaped) before they are formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_made_safe", False):
            return True  # a second handler or logger with the filter
        if isinstance(record.msg, str):
            record.msg = safe(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_safe_argument(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _safe_argument(arg) for name, arg in record.args.items()}
        record._made_safe = True
        return True


def _safe_argument(argument: object) -> object:
    if isinstance(argument, str):
        return safe(argument)
    if isinstance(argument, int | float | type(None)):
        return argument
    return safe(str(argument))  # a Path, an exception, a model: its text is what is logged


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": safe(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `dictConfig` for the command line and uvicorn: uvicorn's own, plus the root logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        json_formatter = {"()": f"{__name__}.JsonFormatter"}
        config["formatters"] = {"default": json_formatter, "access": json_formatter}
        config["formatters"]["plain"] = json_formatter
    else:
        config["formatters"]["plain"] = {"format": TEXT_FORMAT}
    config["handlers"]["plain"] = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["filters"] = {"redact": {"()": f"{__name__}.RedactSecrets"}}
    for name in ("uvicorn.error", "uvicorn.access"):
        config["loggers"][name]["filters"] = ["redact"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"][name]["level"] = level.upper()
    for name in QUIET_LOGGERS:
        config["loggers"][name] = {"level": "WARNING"}
    config["root"] = {"handlers": ["plain"], "level": level.upper()}
    return config


def install(log_format: LogFormat) -> None:
    """From the app factory, however the server was started (uvicorn, gunicorn, the CLI).

    The server has configured its logging by the time it builds the app; this
    adds what the service needs on top and is idempotent (tests build many apps).
    """
    for name in ("uvicorn.error", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in server_logger.filters):
            server_logger.addFilter(RedactSecrets())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    service_logger = logging.getLogger("trade_analysis")
    if service_logger.level == logging.NOTSET:
        service_logger.setLevel(logging.INFO)
    root = logging.getLogger()
    if not root.handlers:  # `uvicorn main:app` configures only its own loggers
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter(TEXT_FORMAT))
        root.addHandler(stderr)
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    if log_format == "json":
        for logger in (root, *(logging.getLogger(name) for name in SERVER_LOGGERS)):
            for handler in logger.handlers:
                if not isinstance(handler.formatter, JsonFormatter):
                    handler.setFormatter(JsonFormatter())
