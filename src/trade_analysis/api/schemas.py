"""Request and response models: the API's contract, as the OpenAPI document shows it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)

from trade_analysis.analysis.title import compile_title_pattern
from trade_analysis.capture.schemas import LastResult, WorkerStatus
from trade_analysis.domain import Side, as_utc, parse_price, to_wire
from trade_analysis.trading.rules import RulesSettings

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
BOT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
TICKER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-^=]{0,15}$"


class Ping(BaseModel):
    ok: Literal[True] = True
    status: Literal["ok"] = "ok"
    version: str
    ts: WireTime


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


class TickerSummary(TickerTotals):
    last_trade: TradeEntry | None
    trade_history: list[TradeEntry]


class CompactSummary(BaseModel):
    """Totals per ticker without the trade lists: small enough to send after every trade."""

    tickers: dict[str, TickerTotals]
    total_pnl_all_tickers: Money


class TradeSummary(BaseModel):
    tickers: dict[str, TickerSummary]
    total_pnl_all_tickers: Money
    all_trades: list[TradeEntry]


class ManualTradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticker: str = Field(pattern=TICKER_PATTERN, description="symbol, e.g. AAPL")
    price: PriceInput = Field(description="189.23, or text such as '$1,234.56'")
    direction: Side | Literal["up", "down"] = Field(
        description="buy or sell: an order; up or down: a signal the simulator acts on, "
        "as a capture's would be (it may trade or not)"
    )
    ts: UtcTime | None = Field(None, description="when it happened; now if omitted")
    meta: dict[str, Any] | None = None
    bot: str | None = Field(
        None,
        max_length=64,
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


class BotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bot: str
    hwnd: int | None
    name: str | None
    ticker: str | None
    total_pnl: Money
    open_direction: str | None
    open_price: Money | None
    open_time: WireTime | None
    meta: dict[str, Any]
    updated_at: WireTime | None


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


class BotSettingsRequest(BaseModel):
    """A bot's trading rules and title pattern; fields left out keep their saved value."""

    model_config = ConfigDict(extra="forbid")

    rules: RulesSettings | None = None
    ocr: bool | None = Field(
        None, description="read the price from the chart header when the title has none"
    )
    title_pattern: str | None = Field(
        None,
        max_length=500,
        description="regex with named groups `ticker` and/or `price` for titles the "
        "heuristics miss; empty string removes it",
    )

    @field_validator("title_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern:
            compile_title_pattern(pattern)
        return pattern


class BotSettingsPublic(BaseModel):
    bot: str
    meta: dict[str, Any]
    applied_to_running_worker: bool = False
