"""Request and response models: the API's contract, as the OpenAPI document shows it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from trade_analysis.api.credentials import TokenScope
from trade_analysis.capture.schemas import (
    ChartReading,
    LastResult,
    WindowId,
    WorkerStatus,
)
from trade_analysis.db import models
from trade_analysis.domain import Side, as_utc, parse_price, to_wire, utcnow
from trade_analysis.trading import valuation
from trade_analysis.trading.binding import BotState
from trade_analysis.trading.ledger import BotCapture

# Money is exact inside; on the wire it is a JSON number, as the seed's clients expect.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
WireTime = Annotated[datetime, PlainSerializer(to_wire, return_type=str, when_used="json")]
PriceInput = Annotated[
    Decimal,
    BeforeValidator(
        lambda value: parse_price(value) if isinstance(value, str | int | float) else value
    ),
]


def _utc(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OverflowError as exc:
        raise ValueError("time is out of range once converted to UTC") from exc


# Any ISO-8601 time in, an aware UTC time out (naive times are taken as UTC).
UtcTime = Annotated[datetime, AfterValidator(_utc)]

# A client's clock may run a little ahead; further, a record would stay `/latest` for good.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _not_ahead(moment: datetime) -> datetime:
    if moment > utcnow() + MAX_CLOCK_SKEW:
        raise ValueError(
            f"time is in the future (more than {MAX_CLOCK_SKEW.seconds // 60} minutes ahead "
            "of the server's clock)"
        )
    return moment


# When something happened, as a client says: not more than a few minutes from now.
ClientTime = Annotated[UtcTime, AfterValidator(_not_ahead)]

# What any database stores: no NUL characters (PostgreSQL refuses them in text and JSON).
NO_NUL_PATTERN = r"^[^\x00]*$"
MAX_JSON_DEPTH = 32
MAX_JSON_INTEGER_DIGITS = 64


def check_storable_json(value: Any, depth: int = 0) -> None:
    """Raise ValueError unless every database can store `value` as JSON and read it back."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            check_storable_json(key, depth + 1)
            check_storable_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable_json(item, depth + 1)
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("contains a number out of range (Infinity or NaN)")
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) >= 10**MAX_JSON_INTEGER_DIGITS
    ):
        raise ValueError(f"contains an integer of more than {MAX_JSON_INTEGER_DIGITS} digits")


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    check_storable_json(value)
    return value


StorableJson = Annotated[dict[str, Any], AfterValidator(_storable)]
# The most rows a `limit` or `offset` may name: beyond any ledger, within every integer type.
MAX_ROWS = 1_000_000_000
BOT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
TICKER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-^=]{0,15}$"


class Ping(BaseModel):
    ok: Literal[True] = True
    status: Literal["ok"] = "ok"
    version: str
    ts: WireTime


class BrowserToken(BaseModel):
    """For URLs a browser opens (WebSocket, `<img>`): `?token=...`, never the key itself."""

    token: str
    expires_at: int = Field(description="unix seconds")
    lifetime_seconds: int = Field(description="how long it lasts from now: renew before")
    scopes: list[TokenScope] = Field(description="what it opens: socket, images, docs")


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


class TradeEntry(BaseModel):
    id: int
    bot: str
    ticker: str
    direction: Side
    price: Money
    profit: Money | None
    win_reason: str
    ts: str


class BotPosition(BaseModel):
    position: Literal["long", "flat"]
    entry_price: Money | None
    last_price: Money | None = None
    unrealised_pnl: Money | None = Field(None, description="long only: last price - entry")
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
    """Totals per ticker without the trade lists: small enough to send after every trade."""

    tickers: dict[str, TickerTotals]


class TradeSummary(PnlTotals):
    tickers: dict[str, TickerSummary]
    all_trades: list[TradeEntry]


class ManualTradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticker: str = Field(pattern=TICKER_PATTERN, description="symbol, e.g. AAPL")
    price: PriceInput = Field(description="189.23, or text such as '$1,234.56'")
    direction: Side | Literal["up", "down"] = Field(
        description="buy or sell: an order; up or down: a signal the simulator acts on, "
        "as a capture's would be (it may trade or not)"
    )
    ts: ClientTime | None = Field(None, description="when it happened; now if omitted")
    meta: StorableJson | None = None
    bot: str | None = Field(
        None,
        max_length=64,
        pattern=NO_NUL_PATTERN,
        description="whose position; a sell without it closes the one open position",
    )


class ManualTradeResult(BaseModel):
    ok: Literal[True] = True
    trade: TradeEntry | None = Field(description="null when a signal did not trade")


class IngestResult(BaseModel):
    ok: Literal[True] = True
    record_id: int | None
    observation_id: int
    image_url: str | None
    ts: WireTime
    trade: TradeEntry | None
    reading: ChartReading | None = Field(
        None,
        description="the chart as read from the image (when trend, ticker or price was left out)",
    )


class OpenPosition(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticker: str
    entry_price: Money | None
    entry_time: WireTime | None


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

    @classmethod
    def of(
        cls, bot: models.Bot, held: Sequence[valuation.OpenPosition], now: datetime
    ) -> BotPublic:
        """A bot's row with every open position of its own, marked to market."""
        mine = [position for position in held if position.bot == bot.bot]
        newest = max(mine, key=_entry_order, default=None)
        return cls(
            bot=bot.bot,
            hwnd=bot.hwnd,
            name=bot.name,
            ticker=bot.ticker,
            total_pnl=bot.total_pnl,
            positions=[
                OpenPosition(
                    ticker=position.ticker,
                    entry_price=position.entry_price,
                    entry_time=position.entry_time,
                )
                for position in mine
            ],
            open_direction="long" if newest else None,
            open_price=newest.entry_price if newest else None,
            open_time=newest.entry_time if newest else None,
            meta=bot.meta or {},
            updated_at=bot.updated_at,
            unrealised_pnl=valuation.unrealised_total(mine),
            open_positions=[
                OpenPositionPublic.model_validate(position.marked(now)) for position in mine
            ],
            process=bot.process,
            stem=bot.stem,
            interval=bot.interval,
            state=BotCapture.from_row(bot).state,
        )


def _entry_order(position: OpenPosition | valuation.OpenPosition) -> datetime:
    return position.entry_time or datetime.min.replace(tzinfo=UTC)


class BotUpdate(BaseModel):
    """A new name, or another window to read from (`/windows` lists them)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255, pattern=r"^[^\x00]*\S[^\x00]*$")
    hwnd: WindowId | None = None

    @model_validator(mode="after")
    def _something(self) -> BotUpdate:
        if self.name is None and self.hwnd is None:
            raise ValueError("give a new 'name' or a window 'hwnd'")
        return self


class ClosedPositions(BaseModel):
    bot: str
    trades: list[TradeEntry] = Field(description="the sells, one per position closed")


class Deleted(BaseModel):
    ok: Literal[True] = True
    deleted: str
    screenshots_removed: bool


class Ok(BaseModel):
    ok: Literal[True] = True
    detail: str


class WorkerPublic(BaseModel):
    hwnd: int
    status: WorkerStatus
    last_result: LastResult | None
    screenshot_b64: str | None
    bot: BotPublic | None


class BotSettingsPublic(BaseModel):
    bot: str
    meta: dict[str, Any]
    applied_to_running_worker: bool = False


class WindowPreview(BaseModel):
    hwnd: int
    jpeg_b64: str = Field(description="a JPEG about 160 px wide, base64")
