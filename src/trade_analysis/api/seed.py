"""The seed face: the original backend's wire contract, as an adapter over the typed routes.

The original's clients send every scalar as a query parameter
(`POST /start_multi?hwnd=123&interval=1`) and read its keys and meanings
(`{started, hwnd}`, `win_rate` in percent, prices as text, `meta` as JSON
text). The routes here parse such a request into the typed API's request
model, make the same application call (`trade_analysis.application`) the typed
route makes, and shape the answer: the original's keys, plus whatever the typed answer adds.
Validation, auth and trading are the typed API's, unchanged; what the
original got wrong (open routes, traversal, ...) stays fixed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from trade_analysis.api.deps import ServicesDep
from trade_analysis.api.routes import ingest
from trade_analysis.api.routes.capture import Hwnd
from trade_analysis.api.routes.history import total_headers
from trade_analysis.api.schemas import (
    BOT_PATTERN,
    MAX_ROWS,
    NO_NUL_PATTERN,
    TICKER_PATTERN,
    IngestResult,
    Ok,
    RecordPublic,
    TickerSummary,
    TradeScreenshot,
    TradeSummary,
    UtcTime,
    WorkerPublic,
)
from trade_analysis.application import bots as bots_app
from trade_analysis.application import capture as capture_app
from trade_analysis.application import data, preferences, uploads
from trade_analysis.application import screenshots as shots_app
from trade_analysis.application import statistics as statistics_app
from trade_analysis.application import trades as trades_app
from trade_analysis.capture import commands
from trade_analysis.capture.schemas import (
    CropEdges,
    CropFactorRequest,
    EnabledRequest,
    NoArguments,
    StartRequest,
    StopRequest,
    WorkerCropEdges,
    seed_status,
)
from trade_analysis.domain import Side, Trend, format_price, to_wire
from trade_analysis.trading import statistics

router = APIRouter(tags=["seed"])
Json = dict[str, Any]
Model = TypeVar("Model", bound=BaseModel)

# -- requests: query parameters, or a JSON body ------------------------------------------


def seed_request(model: type[Model]) -> Any:
    """A dependency reading `model` from the query string and/or a JSON object body.

    The original took every scalar as a query parameter; a JSON body (the typed
    API's way) is accepted too, and a query parameter wins over the same key in it.
    """

    async def parse(request: Request) -> Model:
        data: Json = {}
        body = await request.body()
        if body.strip():
            try:
                decoded = json.loads(body)
            except json.JSONDecodeError as exc:
                raise _invalid("body", f"not JSON: {exc.msg}") from exc
            if not isinstance(decoded, dict):
                raise _invalid("body", "must be a JSON object")
            data.update(decoded)
        data.update(request.query_params)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in errors]
            ) from None

    return Depends(parse)


def _invalid(where: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": (where,), "msg": message}])


def seed_openapi(model: type[BaseModel]) -> Json:
    """The model's fields documented as query parameters, and the same as an optional body."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
    ]
    body = {"content": {"application/json": {"schema": schema}}, "required": False}
    return {"parameters": parameters, "requestBody": body}


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _post(path: str, model: type[BaseModel], summary: str) -> Callable[[Endpoint], Endpoint]:
    """`router.post` with the request model documented as query parameters."""
    decorate: Callable[[Endpoint], Endpoint] = router.post(
        path, summary=summary, openapi_extra=seed_openapi(model)
    )
    return decorate


# -- uploads: the busiest route, so the first one routing tries -------------------------


class SeedIngestResult(IngestResult):
    id: int | None = Field(description="the history record's id, as `record_id`")


@router.post(
    "/ingest",
    summary="Upload a frame captured elsewhere; answers {id, image_url, ts}",
    response_model=SeedIngestResult,
    openapi_extra={
        "requestBody": ingest.form_schema(),
        "parameters": [ingest.IDEMPOTENCY_HEADER],
    },
)
async def ingest_frame(services: ServicesDep, request: Request) -> Response:
    stored, replayed = await uploads.store_upload(
        services, partial(ingest.parse_upload, services, request)
    )
    answer = SeedIngestResult.model_construct(**dict(stored), id=stored.record_id)
    return ingest.json_answer(answer, replayed)


# -- the legacy single capture and the workers --------------------------------------------

Start = Annotated[StartRequest, seed_request(StartRequest)]


@_post("/start", StartRequest, summary="Start the single (legacy) capture")
async def start(request: Start, services: ServicesDep) -> Json:
    status = await capture_app.start(services, request, legacy=True)
    return {**seed_status(status), "started": True}


@router.post("/stop", summary="Stop the single (legacy) capture")
async def stop(services: ServicesDep) -> Json:
    stopped = await services.capture.run(commands.stop_legacy, NoArguments())
    return {**seed_status(stopped), "stopped": True}


@router.get("/status", summary="The single (legacy) capture's get_status(), idle or running")
async def status(services: ServicesDep) -> Json:
    return seed_status(await services.capture.legacy_status())


@_post("/start_multi", StartRequest, summary="Start capturing a window (idempotent)")
async def start_multi(request: Start, services: ServicesDep) -> Json:
    status = await capture_app.start(services, request)
    return {**seed_status(status), "started": True, "hwnd": request.hwnd}


@_post("/stop_multi", StopRequest, summary="Stop capturing a window")
async def stop_multi(
    request: Annotated[StopRequest, seed_request(StopRequest)], services: ServicesDep
) -> Json:
    status = await capture_app.stop(services, request)
    return {**seed_status(status), "stopped": True, "hwnd": request.hwnd}


@router.post("/stop_all_workers", summary="Stop every worker; lists the windows stopped")
async def stop_all_workers(services: ServicesDep) -> Json:
    stopped = await services.capture.run(commands.stop_all, NoArguments())
    return {"stopped": stopped, "count": len(stopped)}


def seed_worker(worker: WorkerPublic) -> Json:
    shaped = worker.model_dump(mode="json")
    shaped["status"] = seed_status(worker.status)
    shaped["last_result"] = shaped["last_result"] or {}
    return shaped


@router.get("/workers", summary="Every worker: get_status(), last_result, thumbnail, bot row")
async def workers(services: ServicesDep) -> list[Json]:
    return [seed_worker(worker) for worker in await capture_app.workers(services)]


# -- capture settings ----------------------------------------------------------------------

Enabled = Annotated[EnabledRequest, seed_request(EnabledRequest)]
Edges = Annotated[CropEdges, seed_request(CropEdges)]


@_post("/settings/line_detect", EnabledRequest, summary="Trend reading on or off")
async def line_detect(request: Enabled, services: ServicesDep) -> Json:
    answer = Ok(detail=await capture_app.set_line_detect(services, request))
    return {**answer.model_dump(), "enabled": request.enabled}


@_post("/settings/bring_to_foreground", EnabledRequest, summary="Bring windows forward or not")
async def bring_to_foreground(request: Enabled, services: ServicesDep) -> Json:
    answer = Ok(detail=await capture_app.set_bring_to_foreground(services, request))
    return {**answer.model_dump(), "bring_to_foreground": request.enabled}


@_post("/settings/crop", CropEdges, summary="The default crop; edges left out stay as they were")
async def global_crop(request: Edges, services: ServicesDep) -> Json:
    return (await services.capture.run(commands.edit_global_crop, request)).model_dump()


@_post("/settings/crop_factor", CropFactorRequest, summary="The same crop on all four edges")
async def crop_factor(
    request: Annotated[CropFactorRequest, seed_request(CropFactorRequest)], services: ServicesDep
) -> Json:
    uniform = capture_app.uniform_crop(request)
    return (await services.capture.run(commands.edit_global_crop, uniform)).model_dump()


@_post("/workers/{hwnd}/crop", CropEdges, summary="A window's own crop; edges left out stay")
async def worker_crop(hwnd: Hwnd, request: Edges, services: ServicesDep) -> Json:
    edit = WorkerCropEdges(hwnd=hwnd, edges=request)
    edited = await services.capture.run(commands.edit_worker_crop, edit)
    shaped: Json = {"hwnd": hwnd, **edited.crop.model_dump()}
    if not edited.applied:
        shaped["applied"] = "persisted"
    return shaped


# -- the ledger ---------------------------------------------------------------------------


def seed_record(record: RecordPublic) -> Json:
    """A record as the original stored it: price as text, meta as JSON text, trades buy/sell."""
    shaped = record.model_dump(mode="json")
    if record.price_text is not None:
        shaped["price"] = record.price_text
    elif record.price is not None:
        shaped["price"] = format_price(record.price)
    shaped["meta"] = json.dumps(record.meta)
    if record.kind == "trade":
        shaped["trend"] = Side.SELL.value if record.sell_price is not None else Side.BUY.value
    if shaped.get("image_url") is None:
        shaped.pop("image_url", None)
    return shaped


@router.get(
    "/latest",
    summary="The newest record; 404 when there is none",
    responses={404: {"description": '{"detail": "no records"}'}},
)
def latest(services: ServicesDep) -> Json:
    record = data.latest(services)
    if record is None:
        raise HTTPException(404, "no records")
    return seed_record(record)


@router.get(
    "/history",
    summary="Records, newest first; without limit every match up to a cap",
    description="`days`: calendar days back from today, in the time mode (`/time_mode`); "
    "`selected_day` (YYYY-MM-DD) replaces start_ts/end_ts with that day's bounds in the time "
    "mode; `bot_id` matches the bot's key, `bot_name` part of its name; `screenshots=true` "
    "fills each trade record's `screenshots` (items as `/screenshots`).",
)
def history_records(
    services: ServicesDep,
    response: Response,
    days: Annotated[float, Query(gt=0, le=36500)] = 7,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    start_ts: UtcTime | None = None,
    end_ts: UtcTime | None = None,
    trend: Annotated[
        Trend | Side | None, Query(description="up, down, none; or buy, sell for trade records")
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROWS, description="at most HISTORY_MAX_ROWS; every match if omitted"),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 0,
    selected_day: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
    bot_id: Annotated[str | None, Query(pattern=BOT_PATTERN)] = None,
    bot_name: Annotated[
        str | None, Query(min_length=1, max_length=255, pattern=NO_NUL_PATTERN)
    ] = None,
    screenshots: bool = False,
) -> list[Json]:
    cap = services.settings.history_max_rows
    signal = trend if isinstance(trend, Trend) else None
    mode = preferences.time_mode(services)
    if selected_day is not None:
        start_ts, end_ts = preferences.day_bounds(selected_day, mode)
    elif start_ts is None:
        start_ts = preferences.days_since(math.ceil(days), mode)
    filters = data.history_filter(
        days, ticker, start_ts, end_ts, signal, min(limit or cap, cap), offset
    )
    filters = replace(filters, bot=bot_id, bot_name=bot_name)
    if isinstance(trend, Side):
        filters = replace(filters, trade_side=trend.value)
    elif trend is not None:  # trade records read buy/sell here, so up/down/none are the others
        filters = replace(filters, kind="observation")
    page, total = data.history_page(services, filters)
    total_headers(response, total)
    names = data.bot_names(services, {record.bot for record in page if record.bot})
    shots = (
        shots_app.of_records(services, [r.id for r in page if r.kind == "trade"])
        if screenshots
        else {}
    )
    return [seed_history_row(record, names, shots.get(record.id, [])) for record in page]


def seed_history_row(
    record: RecordPublic, names: dict[str, str | None], shots: list[TradeScreenshot]
) -> Json:
    """A record as the original's later `/history` gave it: with its trade id, bot and
    screenshots."""
    shaped = seed_record(record)
    opened = record.buy_time if record.kind == "trade" else None
    shaped["trade_id"] = record.meta.get("trade_id") or to_wire(opened or record.ts)
    shaped["bot_id"] = record.bot
    shaped["bot_name"] = names.get(record.bot) if record.bot else None
    shaped["screenshots"] = [shot.model_dump(mode="json") for shot in shots]
    return shaped


def _money(amount: Decimal) -> float:
    """The original's overview money: a number of two decimals."""
    return float(amount.quantize(Decimal("0.01")))


def seed_tally(tally: statistics.Tally) -> Json:
    return {
        "count": tally.count,
        "wins": tally.wins,
        "losses": tally.losses,
        "total_profit": _money(tally.total_profit),
        "total_loss": _money(tally.total_loss),
        "net": _money(tally.net),
    }


@router.get(
    "/history_overview",
    summary="Round trips per day they opened (wins, losses, profit, loss, net), and totals",
    description="`daily` covers the window (`days`, or `start_ts`/`end_ts`); `totals` the "
    "round trips of `selected_day` (else the window) that `profit_filter` keeps. A round "
    "trip still open counts in `count` only; one that made exactly 0 is neither a win nor "
    "a loss. Days are UTC days (`time_mode` is `utc`).",
)
def history_overview(
    services: ServicesDep,
    days: Annotated[int, Query(ge=1, le=36500)] = 7,
    start_ts: UtcTime | None = None,
    end_ts: UtcTime | None = None,
    selected_day: Annotated[date | None, Query(description="YYYY-MM-DD (UTC)")] = None,
    ticker: Annotated[str | None, Query(pattern=TICKER_PATTERN)] = None,
    trend: Annotated[Side | None, Query(description="buy: still open; sell: closed")] = None,
    win_reason: Annotated[str | None, Query(max_length=32)] = None,
    bot_id: Annotated[str | None, Query(pattern=BOT_PATTERN)] = None,
    bot_name: Annotated[str | None, Query(max_length=255)] = None,
    profit_filter: statistics_app.ProfitFilter = "all",
) -> Json:
    query = statistics_app.OverviewQuery(
        days=days,
        since=start_ts,
        until=end_ts,
        selected_day=selected_day,
        ticker=ticker.upper() if ticker else None,
        side=trend,
        win_reason=win_reason,
        bot=bot_id,
        bot_name=bot_name,
        profit_filter=profit_filter,
    )
    overview = statistics_app.overview(services, query)
    return {
        "daily": [
            {"day_key": day.isoformat(), **seed_tally(tally)}
            for day, tally in overview.daily.items()
        ],
        "totals": seed_tally(overview.totals),
        "selected_day": selected_day.isoformat() if selected_day else None,
        "profit_filter": profit_filter,
        "time_mode": "utc",
    }


def seed_ticker(summary: TickerSummary) -> Json:
    shaped = summary.model_dump(mode="json")
    decided = summary.wins + summary.losses
    # The original printed this as a percentage: 0-100, two decimals.
    shaped["win_rate"] = round(100 * summary.wins / decided, 2) if decided else 0.0
    last = summary.last_trade
    shaped["last_direction"] = last.direction.value if last is not None else None
    return shaped


@router.get("/trades", summary="Positions and P&L per ticker, win rate in percent")
def trade_summary(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10000, description="how many recent trades")] = 500,
) -> Json:
    summary: TradeSummary = trades_app.summary(services, limit)
    shaped = summary.model_dump(mode="json")
    shaped["tickers"] = {ticker: seed_ticker(s) for ticker, s in summary.tickers.items()}
    return shaped


@router.delete("/bots/{hwnd}", summary="Stop a window's worker, forget its bot and screenshots")
async def delete_bot(
    hwnd: Annotated[str, Path(pattern=BOT_PATTERN, description="window id or bot name")],
    services: ServicesDep,
) -> Json:
    deleted = await bots_app.delete_bot(services, hwnd)
    return {
        **deleted.model_dump(),
        "deleted": True,
        "bot": deleted.deleted,
        "hwnd": int(hwnd) if hwnd.isdigit() else hwnd,
        "bot_id": deleted.deleted,
    }
