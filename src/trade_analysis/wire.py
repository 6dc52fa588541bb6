"""What crosses a package boundary: money, summaries, trade entries, worker state, live events.

One neutral module that the API, the live stream, capture and the database
reads all import, and that imports none of them: a package talks to another
through these models, never through another package's schemas. The HTTP
answers (`api/schemas.py`) and the WebSocket messages (`docs/websocket.md`,
written from `EVENT_MODELS` by `python -m trade_analysis.wire_page`) are built
from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from trade_analysis.analysis.crop import CropSettings
from trade_analysis.domain import Side, Trend, to_wire

# Money is exact inside; on the wire it is a JSON number, as the seed's clients expect.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
WireTime = Annotated[datetime, PlainSerializer(to_wire, return_type=str, when_used="json")]

# What capture does for a bot: reads its window; waits for one that matches (it resumes
# when one appears); nothing until resumed (paused); nothing (stopped).
BotState = Literal["capturing", "waiting_for_window", "paused", "stopped"]

#: How a frame's pixels were obtained.
#: ``composite``: the window's own off-screen pixmap (X11 Composite), correct when covered.
#: ``screen``: the screen region where the window is; covered parts show what covers them.
#: ``printwindow``: Win32 PrintWindow with PW_RENDERFULLCONTENT.
#: ``printwindow-plain``: Win32 PrintWindow without flags (fallback).
#: ``bitblt``: Win32 BitBlt from the window's DC, when printing failed or came back all
#: black (as under Wine for another process's window); like ``screen``, covered parts
#: show what covers them.
CaptureMethod = Literal["composite", "screen", "printwindow", "printwindow-plain", "bitblt"]


class WorkerState(StrEnum):
    """Where a capture worker is in its life."""

    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    WAITING_FOR_WINDOW = "waiting_for_window"
    WINDOW_GONE = "window_gone"
    UNAVAILABLE = "unavailable"
    ERROR = "error"
    STOPPED = "stopped"


class ChartKind(StrEnum):
    """What the chart reader recognised: a line (area charts too), candles or bars."""

    LINE = "line"
    CANDLES = "candles"
    BARS = "bars"


# -- trades and summaries -----------------------------------------------------------


_FIRST_CYCLE_RULE = (
    "the original's first-cycle rule, on unless the bot's rules set first_cycle to false"
)
# Why a trade was made, by (reason, side); a reason written by another version reads as itself.
_WHY: dict[tuple[str, str], str] = {
    ("signal", "buy"): "`up` while flat: the basic rule buys",
    ("signal", "sell"): "`down` while long: the basic rule sells",
    ("first_cycle", "buy"): "first cycle: the ticker's first reading was `down` while flat, "
    "so it bought and sells at the next `down` whatever the price (with take profit set, "
    f"that rule sells instead) ({_FIRST_CYCLE_RULE})",
    ("first_cycle", "sell"): "first cycle: the next `down` after the first-cycle buy sells it, "
    f"whatever the price ({_FIRST_CYCLE_RULE})",
    ("take_profit", "sell"): "take profit: the price reached entry + take_profit",
    ("stop_loss", "sell"): "stop loss: the price fell to entry - stop_loss",
    ("consecutive_drops", "sell"): "the price fell sell_after_drops readings in a row",
    ("reversal", "buy"): "`up` after `down` lasted reversal_minutes: the reversal rule buys",
    ("manual", "buy"): "a trader's own buy",
    ("manual", "sell"): "a trader's own sell",
    ("manual close", "sell"): "the bot's positions closed by hand, at the last price it read",
    ("close all", "sell"): "every open position closed at once (close all), at the last "
    "price its bot read",
    ("indicator", "buy"): "the bot's indicator rules bought",
    ("indicator", "sell"): "the bot's indicator rules sold",
}


def why(reason: str, side: str, said: str | None = None) -> str:
    """A trade's reason in words (the dashboard's tooltip for it): what the rule said when
    it traded (`said`, stored with the trade: an indicator's figures), else the reason's
    explanation."""
    if said:
        return said
    return _WHY.get((reason, side), reason.replace("_", " "))


class TradeEntry(BaseModel):
    """A committed trade; also the `data` of the live `trade` event."""

    id: int
    bot: str
    ticker: str
    direction: Side
    price: Money = Field(description="the price read when it traded")
    profit: Money | None = Field(description="sells: the round trip's P&L, net of both fees")
    win_reason: str
    ts: str
    quantity: Money = Field(Decimal(1), description="units bought or sold")
    fill_price: Money | None = Field(
        None, description="the price it filled at: `price` moved by slippage (null: `price`)"
    )
    fee: Money = Field(Decimal(0), description="the fee this order paid")
    why: str = Field(
        "",
        description="the trade's reason in words: what an indicator rule saw for its "
        "trades, else `win_reason` explained",
    )


class BotPosition(BaseModel):
    position: Literal["long", "flat"]
    entry_price: Money | None
    last_price: Money | None = None
    unrealised_pnl: Money | None = Field(
        None, description="long only: (last price - entry) x quantity"
    )
    unrealised_pct: Money | None = Field(None, description="long only: percent of the entry")
    open_seconds: float | None = Field(None, description="long only: how long it has been open")


class OpenPositionPublic(BaseModel):
    """A long position marked to the last price its bot read."""

    bot: str
    name: str | None
    ticker: str
    entry_price: Money
    entry_time: str | None
    last_price: Money
    unrealised_pnl: Money
    unrealised_pct: Money
    open_seconds: float | None
    quantity: Money = Field(Decimal(1), description="units held")


class TickerTotals(BaseModel):
    """A ticker's position and running P&L, without its trades."""

    position: Literal["long", "flat"]
    entry_price: Money | None
    first_cycle_done: bool
    last_direction: str | None
    total_pnl: Money
    wins: int
    losses: int
    win_rate: float
    bots: dict[str, BotPosition]
    unrealised_pnl: Money = Field(Decimal(0), description="open positions at their last price")
    last_price: Money | None = None


class TickerSummary(TickerTotals):
    last_trade: TradeEntry | None
    trade_history: list[TradeEntry]


class PnlTotals(BaseModel):
    """Realised P&L (closed round trips) and unrealised (open positions marked), apart."""

    total_pnl_all_tickers: Money = Field(description="realised: closed round trips only")
    realised_pnl: Money = Decimal(0)
    unrealised_pnl: Money = Field(Decimal(0), description="open positions at their last price")
    open_positions: list[OpenPositionPublic] = []


class CompactSummary(PnlTotals):
    """Totals per ticker without the trade lists: small enough to send after every trade
    (the `data` of the live `summary` event)."""

    tickers: dict[str, TickerTotals]


class TradeSummary(PnlTotals):
    tickers: dict[str, TickerSummary]
    all_trades: list[TradeEntry]


# -- history -------------------------------------------------------------------------


class RecordPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: WireTime
    kind: str
    bot: str | None
    image_path: str | None
    image_url: str | None = None
    name: str | None
    ticker: str | None
    price: Money | None
    # As it came in ("$189.23"): the seed face answers with it; the typed face has `price`.
    price_text: str | None = Field(None, exclude=True)
    trend: str | None
    buy_price: Money | None
    sell_price: Money | None
    buy_time: WireTime | None
    sell_time: WireTime | None
    meta: dict[str, Any]


# -- statistics (trading/statistics.py says what each figure means) -----------------


class PeriodPnl(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    start: date = Field(description="the period's first day (UTC; a week starts on Monday)")
    realised_pnl: Money
    marked_pnl: Money = Field(description="realised + the open positions' change in value")
    closed_trades: int
    wins: int
    losses: int
    fees: Money


class EquityPointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: WireTime
    realised: Money
    marked: Money
    drawdown: Money = Field(description="how far realised is below its best so far")


class StatsFigures(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ledger_trades: int = Field(description="buys and sells in the window")
    closed_trades: int = Field(description="round trips (a buy and its sell) closed")
    open_trades: int
    wins: int
    losses: int
    breakeven: int
    realised_pnl: Money
    unrealised_pnl: Money = Field(description="open positions at the newest price read")
    marked_pnl: Money
    gross_profit: Money
    gross_loss: Money = Field(description="positive: the losses' total")
    win_rate: float | None = Field(description="wins / closed trades, 0-1")
    average_win: Money | None
    average_loss: Money | None = Field(description="positive")
    profit_factor: Money | None = Field(description="gross profit / gross loss; null: no loss")
    expectancy: Money | None = Field(description="mean P&L of a closed trade")
    max_drawdown: Money
    average_holding_seconds: float | None
    exits_by_reason: dict[str, int]
    fees: Money
    periods: list[PeriodPnl]


class BotStats(StatsFigures):
    bot: str
    name: str | None


class TickerStats(StatsFigures):
    ticker: str


class SignalSkill(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bot: str
    horizon: int = Field(description="readings looked ahead for the move")
    readings: int = Field(description="up/down readings with a price")
    judged: int = Field(description="readings the price moved after, within the horizon")
    hits: int
    hit_rate: float | None
    majority: Trend | None = Field(description="the direction most moves took")
    baseline_hits: int = Field(description="hits of always betting the majority")
    baseline_rate: float | None
    edge: float | None = Field(description="hit_rate - baseline_rate")


class PricePoint(BaseModel):
    at: WireTime
    ticker: str
    price: Money


class BotChart(BaseModel):
    """A bot's prices read over the window (thinned to at most a few thousand) and its
    trades, for a price chart with the trades marked on it."""

    bot: str
    prices: list[PricePoint]
    trades: list[TradeEntry]


class StatsPublic(BaseModel):
    period: Literal["day", "week", "month"]
    since: WireTime | None
    until: WireTime | None
    overall: StatsFigures
    equity: list[EquityPointPublic] = Field(description="a point per trade, then the last")
    bots: list[BotStats]
    tickers: list[TickerStats]
    skill: list[SignalSkill]
    chart: BotChart | None = Field(description="only when one bot is asked for")


# -- bots ------------------------------------------------------------------------------


class OpenPosition(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticker: str
    entry_price: Money | None
    entry_time: WireTime | None


class BotReading(BaseModel):
    """The newest reading a bot traded on (or was refused as unchanged)."""

    ticker: str
    price: Money
    trend: Trend
    confidence: float | None = None
    at: str | None = None
    image_url: str | None = Field(None, description="an upload's image, when it was one")


class BotPublic(BaseModel):
    bot: str
    hwnd: int | None
    name: str | None
    ticker: str | None
    total_pnl: Money
    positions: list[OpenPosition] = Field(description="every open position, one per ticker")
    # The seed's columns, for its clients: the newest open position, if any.
    open_direction: Literal["long"] | None
    open_price: Money | None
    open_time: WireTime | None
    meta: dict[str, Any]
    updated_at: WireTime | None
    unrealised_pnl: Money = Field(Decimal(0), description="its open positions at the last price")
    open_positions: list[OpenPositionPublic] = []
    process: str | None = Field(None, description="the process of the window it recognises")
    stem: str | None = Field(None, description="the title it recognises, numbers left out")
    interval: float | None = Field(None, description="seconds between captures, as saved")
    state: BotState = Field(
        "stopped",
        description="capturing; waiting_for_window (resumes when a matching window "
        "appears); paused (does not resume); stopped",
    )
    last_reading: BotReading | None = Field(None, description="its newest signal, as read")


class ClosedPositions(BaseModel):
    bot: str
    trades: list[TradeEntry] = Field(description="the sells, one per position closed")


class ClosedAll(BaseModel):
    """Every open position of every bot, closed (`POST /close_all_positions`)."""

    closed: int = Field(description="how many positions were closed")
    trades: list[TradeEntry] = Field(description="the sells, one per position, reason `close all`")


class Deleted(BaseModel):
    ok: Literal[True] = True
    deleted: str
    screenshots_removed: bool


class Ok(BaseModel):
    ok: Literal[True] = True
    detail: str


class BotSettingsPublic(BaseModel):
    bot: str
    meta: dict[str, Any]
    applied_to_running_worker: bool = False


# -- capture workers ------------------------------------------------------------------


class TargetWindow(BaseModel):
    hwnd: int
    title: str


class LastResult(BaseModel):
    """The seed's `last_result`: what the newest changed frame read."""

    timestamp: str
    image_path: str
    name: str | None
    ticker: str
    price: str
    price_value: float | None
    trend: Trend
    confidence: float | None
    kind: ChartKind = ChartKind.LINE
    reason: str = ""


class WorkerStatus(BaseModel):
    """The seed's worker status fields, then what this implementation adds."""

    is_running: bool
    target_window: TargetWindow
    interval: float
    total_captures: int
    successful_captures: int
    failed_captures: int
    runtime_seconds: float
    output_folder: str
    keep_last_n: int
    last_result: LastResult | None
    bring_to_foreground: bool
    state: WorkerState
    capture_method: CaptureMethod | None = Field(
        None, description="how the last frame was captured (None before the first)"
    )
    last_error: str | None
    max_lag_seconds: float
    line_detect: bool
    crop: CropSettings
    bot: str | None = Field(None, description="the bot this window is bound to")


@dataclass(frozen=True)
class WorkerView:
    """A worker as the API shows it: status, last result and its newest thumbnail."""

    hwnd: int
    status: WorkerStatus
    thumbnail_jpeg: bytes | None
    thumbnail_version: int

    @property
    def last_result(self) -> LastResult | None:
        return self.status.last_result


class ChartReading(BaseModel):
    """What the chart reader made of an image: kind, direction and why."""

    kind: ChartKind
    trend: Trend
    confidence: float
    reason: str


class WorkerPublic(BaseModel):
    hwnd: int
    status: WorkerStatus
    last_result: LastResult | None
    screenshot_b64: str | None
    bot: BotPublic | None


# A capture's defaults, the original's: one capture a second, five screenshots kept.
DEFAULT_INTERVAL = 1.0
DEFAULT_KEEP_LAST_N = 5

# What the original's `get_status()` said before anything was started.
IDLE_STATUS: dict[str, Any] = {
    "is_running": False,
    "target_window": None,
    "interval": DEFAULT_INTERVAL,
    "total_captures": 0,
    "successful_captures": 0,
    "failed_captures": 0,
    "runtime_seconds": 0.0,
    "output_folder": None,
    "keep_last_n": DEFAULT_KEEP_LAST_N,
    "last_result": {},
    "bring_to_foreground": False,
}


def seed_status(status: WorkerStatus | None) -> dict[str, Any]:
    """A status as the original's `get_status()` gave it (the seed face): every key, idle
    or running, and `last_result` `{}` rather than null before the first frame."""
    if status is None:
        return {**IDLE_STATUS, "last_result": {}}
    shaped = status.model_dump(mode="json")
    shaped["last_result"] = shaped["last_result"] or {}
    return shaped


class IngestResult(BaseModel):
    ok: Literal[True] = True
    record_id: int | None
    observation_id: int
    image_url: str | None
    ts: WireTime
    trade: TradeEntry | None
    indicator: str | None = Field(
        None, description="what the bot's indicator rules made of this reading (when it has any)"
    )
    reading: ChartReading | None = Field(
        None,
        description="the chart as read from the image (when trend, ticker or price was left out)",
    )
    bot: str | None = Field(None, description="the bot it was stored and traded under")
    ticker: str | None = Field(None, description="the ticker used (sent, else read)")
    price: Money | None = Field(None, description="the price used (sent, else read)")
    trend: Trend | None = Field(None, description="the trend used (sent, else read)")
    confidence: float | None = Field(None, description="the reading's confidence, when read")


class TradeScreenshot(BaseModel):
    """A frame kept with a trade (trade_frames.py)."""

    filename: str
    path: str = Field(description="under /trade_screenshots/")
    url: str = Field(description="where the file is served")
    ts: str = Field(description="capture time, `YYYYMMDD_HHMMSS_mmm` (UTC)")
    at: str = Field(description="capture time, ISO-8601 UTC")
    price: str | None = Field(description="the trade's price, as text")
    type: Literal["buy", "sell"] = Field(description="the side of the trade it was kept for")
    when: Literal["before", "after"] = Field(
        description="before the trade (up to and including the frame that traded) or after it"
    )
    trade_id: int


class TradeScreenshots(BaseModel):
    trade_id: str = Field(description="as asked")
    screenshots: list[TradeScreenshot] = Field(description="oldest first")


# -- live events: one model per type of the typed stream's `data` ---------------------


class EventType(StrEnum):
    HELLO = "hello"
    WORKER = "worker"
    FRAME = "frame"
    OBSERVATION = "observation"
    TRADE = "trade"
    SUMMARY = "summary"
    BOT = "bot"
    ERROR = "error"
    SNAPSHOT = "snapshot"


class CaptureAvailability(BaseModel):
    available: bool
    detail: str | None = Field(None, description="why capture is unavailable, when it is")


class WorkerPresent(WorkerStatus):
    """A worker's whole status after any change."""

    hwnd: int


class HelloData(BaseModel):
    """Everything a (re)connecting client needs to be in sync at once."""

    timestamp: str
    workers: list[WorkerPresent]
    frames: dict[str, str] = Field(description="window id: its newest JPEG thumbnail, base64")
    summary: TradeSummary
    capture: CaptureAvailability


class WorkerStopped(BaseModel):
    """A worker that ended; its window is no longer captured."""

    hwnd: int
    stopped: Literal[True] = True


class FrameData(BaseModel):
    """A changed frame's thumbnail."""

    hwnd: int
    jpeg_b64: str = Field(description="a JPEG about 320 px wide, base64")


class ObservationData(BaseModel):
    """What a window's newest changed frame read."""

    hwnd: int
    last_result: LastResult


class BotRenamed(BaseModel):
    bot: str
    name: str | None


class BotDeleted(BaseModel):
    bot: str
    deleted: Literal[True] = True


class ErrorData(BaseModel):
    """An answer to a client message that could not be understood."""

    detail: str


class SnapshotData(BaseModel):
    """The seed's `/ws` snapshot, also sent on the typed stream when asked for."""

    timestamp: str
    status: dict[str, Any] = Field(description="the single legacy capture's status")
    workers: list[dict[str, Any]]
    trade_summary: TradeSummary
    screenshot_b64: str | None


# The models each event type's `data` is one of.
EVENT_MODELS: dict[EventType, tuple[type[BaseModel], ...]] = {
    EventType.HELLO: (HelloData,),
    EventType.WORKER: (WorkerPresent, WorkerStopped),
    EventType.FRAME: (FrameData,),
    EventType.OBSERVATION: (ObservationData,),
    EventType.TRADE: (TradeEntry,),
    EventType.SUMMARY: (CompactSummary,),
    EventType.BOT: (BotRenamed, BotDeleted),
    EventType.ERROR: (ErrorData,),
    EventType.SNAPSHOT: (SnapshotData,),
}


# What a producer hands the live stream: one of the models above.
EventData = (
    HelloData
    | WorkerPresent
    | WorkerStopped
    | FrameData
    | ObservationData
    | TradeEntry
    | CompactSummary
    | BotRenamed
    | BotDeleted
    | ErrorData
    | SnapshotData
)
_TYPE_OF_MODEL: dict[type[BaseModel], EventType] = {
    model: event_type for event_type, models in EVENT_MODELS.items() for model in models
}


def event_type_of(data: EventData) -> EventType:
    """The event type whose `data` this model is."""
    return _TYPE_OF_MODEL[type(data)]
