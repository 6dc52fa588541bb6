"""Request and response models: the API's contract, as the OpenAPI document shows it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from trade_analysis.api.credentials import TokenScope
from trade_analysis.capture.schemas import WindowId
from trade_analysis.domain import Side, as_utc, parse_price, utcnow
from trade_analysis.wire import BotPublic as BotPublic
from trade_analysis.wire import BotSettingsPublic as BotSettingsPublic
from trade_analysis.wire import ClosedAll as ClosedAll
from trade_analysis.wire import ClosedPositions as ClosedPositions
from trade_analysis.wire import CompactSummary as CompactSummary
from trade_analysis.wire import Deleted as Deleted
from trade_analysis.wire import IngestResult as IngestResult
from trade_analysis.wire import Ok as Ok
from trade_analysis.wire import RecordPublic as RecordPublic
from trade_analysis.wire import StatsPublic as StatsPublic
from trade_analysis.wire import TickerSummary as TickerSummary
from trade_analysis.wire import TickerTotals as TickerTotals
from trade_analysis.wire import (
    TradeEntry,
    WireTime,
)
from trade_analysis.wire import TradeScreenshot as TradeScreenshot
from trade_analysis.wire import TradeScreenshots as TradeScreenshots
from trade_analysis.wire import TradeSummary as TradeSummary
from trade_analysis.wire import WorkerPublic as WorkerPublic

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
        pattern=BOT_PATTERN,
        description="whose position (a bot's key: letters, digits and _.:- as every route "
        "takes it); a sell without it closes the one open position",
    )


class ManualTradeResult(BaseModel):
    ok: Literal[True] = True
    trade: TradeEntry | None = Field(description="null when a signal did not trade")


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


class WindowPreview(BaseModel):
    hwnd: int
    jpeg_b64: str = Field(description="a JPEG about 160 px wide, base64")
