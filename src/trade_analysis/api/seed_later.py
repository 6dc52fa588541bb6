"""The original's later routes (after the seed): bots as it registered them, the capture
interval, the time mode and the signal source, with its keys and error texts.

Each parses the original's request, makes the same application call the typed API
makes and shapes the original's answer. What it got wrong stays fixed: every
route takes the key, booleans are booleans, an unknown bot is a 404, deleting a bot
stops its worker, and nothing answers 500.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.schemas import BOT_PATTERN, BotPublic, check_storable_json
from trade_analysis.application import bots as bots_app
from trade_analysis.application import capture as capture_app
from trade_analysis.application import preferences
from trade_analysis.application.errors import InvalidRequest
from trade_analysis.capture.errors import CaptureError, UnknownWorker, http_status
from trade_analysis.capture.schemas import IntervalRequest
from trade_analysis.trading.ledger import UnknownBot
from trade_analysis.trading.original_fields import OriginalBotFields

router = APIRouter(tags=["seed"])
Json = dict[str, Any]
BotRef = Annotated[str, Path(pattern=BOT_PATTERN, description="the bot's key (`bot_id`)")]
NOT_FOUND: dict[int | str, Json] = {404: {"description": "bot not found"}}
MIN_INTERVAL = 0.5

# -- bots ---------------------------------------------------------------------------------


def seed_bot(public: BotPublic) -> Json:
    """A bot as the original's registry gave it: the fields it was sent, `bot_id` and
    `hwnd`, plus this service's own keys (totals, positions...)."""
    kept = public.meta.get("original") or {}
    shaped = public.model_dump(mode="json")
    shaped.update(kept)
    shaped["bot_id"] = public.bot
    sent = kept.get("hwnd")
    shaped["hwnd"] = _window(sent) if _window(sent) is not None else public.hwnd
    return shaped


def _window(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


@router.get("/bots", summary="Every bot, as the original's registry listed them")
def list_bots(services: ServicesDep) -> list[Json]:
    return [seed_bot(public) for public in bots_app.all_bots(services)]


@router.get("/bots/{bot}", summary="One bot by its key", responses=NOT_FOUND)
def get_bot(bot: BotRef, services: ServicesDep) -> Json:
    try:
        return seed_bot(bots_app.bot(services, bot))
    except UnknownBot:
        raise HTTPException(404, "bot not found") from None


UPSERT_BODY: Json = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                **OriginalBotFields.model_json_schema(),
                "description": "`bot_id` (or `id`) and any of the original's bot fields; "
                "rule 1-4 fields become this bot's rules, every field is kept as sent",
            }
        }
    },
}


@router.post(
    "/bots/upsert",
    summary="Make or update a bot from the original's fields (merged with what it has)",
    responses={400: {"description": "bot_id is required"}},
    openapi_extra={"requestBody": UPSERT_BODY},
)
async def upsert_bot(request: Request, services: ServicesDep) -> Json:
    fields = await _json_object(request)
    key = fields.get("bot_id", fields.get("id"))
    if key is None:
        raise HTTPException(400, "bot_id is required")
    key = str(key).strip() if isinstance(key, str | int) and not isinstance(key, bool) else None
    if not key:
        raise HTTPException(400, "failed to register bot: bot_id is blank or not a string")
    kept = {name: value for name, value in fields.items() if name != "id"} | {"bot_id": key}
    try:
        validated = OriginalBotFields.model_validate(kept)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None
    if re.fullmatch(BOT_PATTERN, key) is None:
        raise _invalid("bot_id", "bot_id must be 1-64 letters, digits or `_ . : -`")
    public, _ = await bots_app.upsert_fields(services, key, kept, validated)
    return {"ok": True, "bot": seed_bot(public)}


async def _json_object(request: Request) -> Json:
    body = await request.body()
    try:
        decoded = json.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _invalid("body", f"not JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise _invalid("body", "must be a JSON object of bot fields")
    try:
        check_storable_json(decoded)
    except ValueError as exc:
        raise _invalid("body", f"cannot be stored: it {exc}") from None
    return decoded


def _invalid(where: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", where), "msg": message}])


@router.post("/bots/clear", summary="Forget every bot (workers stop; the ledger keeps trades)")
async def clear_bots(services: ServicesDep) -> Json:
    cleared = await bots_app.clear_bots(services)
    return {"cleared": True, "bots": cleared}


# -- capture interval ------------------------------------------------------------------------


@router.post(
    "/set_capture_interval",
    summary="A running window's seconds between captures (at least 0.5), from its next wait",
    responses={400: {"description": "hwnd is required"}, 404: {"description": "Worker not found"}},
)
async def set_capture_interval(
    services: ServicesDep,
    hwnd: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    interval: Annotated[float, Query(allow_inf_nan=False, le=3600)] = 1.0,
) -> Json:
    if hwnd is None:
        raise HTTPException(400, "hwnd is required")
    request = IntervalRequest(hwnd=hwnd, interval=max(MIN_INTERVAL, interval))
    try:
        status = await capture_app.set_interval(services, request)
    except CaptureError as exc:  # here, or through the agent (its status carried over)
        if http_status(exc) != UnknownWorker.http_status:
            raise
        raise HTTPException(404, "Worker not found") from None
    return {"hwnd": hwnd, "interval": status.interval}


# -- time mode and signal source ---------------------------------------------------------------


class ModeRequest(BaseModel):
    mode: str = Field(max_length=32, description="`utc`; anything else is local time")


class SourceRequest(BaseModel):
    source: str = Field(max_length=32, description="`screenshot` (the only one here)")


def _time_mode(mode: preferences.TimeMode) -> Json:
    available = [choice.value for choice in preferences.TimeMode]
    return {
        "mode": mode.value,
        "default": preferences.DEFAULT_TIME_MODE.value,
        "available": available,
    }


def _signal_source(source: preferences.SignalSource) -> Json:
    available = [choice.value for choice in preferences.AVAILABLE_SIGNAL_SOURCES]
    default = preferences.DEFAULT_SIGNAL_SOURCE.value
    return {"source": source.value, "default": default, "available": available}


@router.get("/time_mode", summary="How days are cut: server-local time or UTC")
def get_time_mode(services: ServicesDep) -> Json:
    return _time_mode(preferences.time_mode(services))


@router.post("/time_mode", summary="Set the time mode: `utc`, else local")
async def set_time_mode(request: Annotated[ModeRequest, Body()], services: ServicesDep) -> Json:
    return {"ok": True, **_time_mode(await preferences.set_time_mode(services, request.mode))}


@router.get("/signal_source", summary="Where the rules' signals come from: screenshots")
def get_signal_source(services: ServicesDep) -> Json:
    return _signal_source(preferences.signal_source(services))


@router.post(
    "/signal_source",
    summary="Set the signal source; only `screenshot` is available here",
    responses={400: {"description": "unknown or unavailable source"}},
)
async def set_signal_source(
    request: Annotated[SourceRequest, Body()], services: ServicesDep
) -> Json:
    try:
        chosen = await preferences.set_signal_source(services, request.source)
    except InvalidRequest as exc:
        raise HTTPException(400, str(exc)) from None
    return {"ok": True, **_signal_source(chosen)}
