"""The ledger's tables and rows: what a transaction reads, changes and writes back.

`BotRow` and `PositionRow` are a bot and a position as one transaction holds
them; `ObservationInput` what a capture or an upload hands the ledger, and
`StoredObservation` / `RecordedTrade` what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    RowMapping,
    Table,
    select,
)

from trade_analysis.db import models
from trade_analysis.domain import Trend
from trade_analysis.trading.binding import (
    BotState,
    WindowIdentity,
)
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.fills import ZERO, Costs
from trade_analysis.trading.indicators import IndicatorSettings
from trade_analysis.trading.simulator import (
    NoOpenPosition,
    Position,
    Rules,
    TradeEvent,
)

BOTS: Table = models.Bot.__table__  # type: ignore[assignment]
POSITIONS: Table = models.Position.__table__  # type: ignore[assignment]
OBSERVATIONS: Table = models.Observation.__table__  # type: ignore[assignment]
RECORDS: Table = models.Record.__table__  # type: ignore[assignment]
TRADES: Table = models.Trade.__table__  # type: ignore[assignment]
TICKER_TOTALS: Table = models.TickerTotal.__table__  # type: ignore[assignment]
IDEMPOTENCY_KEYS: Table = models.IdempotencyKey.__table__  # type: ignore[assignment]


# What a transaction may change on a bot or a position; written back in one statement each.
# Not `hwnd`: which window a bot reads from is written only by binding (`bind_window`).
BOT_STATE = (
    "name",
    "ticker",
    "updated_at",
    "last_signal",
    "total_pnl",
)
POSITION_STATE = (
    "is_long",
    "entry_price",
    "entry_time",
    "first_cycle_done",
    "waiting",
    "last_direction",
    "last_price",
    "consecutive_drops",
    "down_since",
    "open_record_id",
    "quantity",
    "entry_fill_price",
    "entry_fee",
    "last_buy_time",
    "last_sell_time",
)

PositionKey = tuple[str, str]


class AmbiguousPosition(NoOpenPosition):
    """A sell without a bot matches open positions of several bots."""


class UnknownBot(LookupError):
    def __init__(self, bot: str) -> None:
        super().__init__(f"no bot {bot!r}; see /bots")
        self.bot = bot


class IdempotencyKeyReused(ValueError):
    """An observation whose idempotency key was first sent with a different request: it
    is neither stored nor answered with the first one's result."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used for a different request")
        self.key = key


@dataclass(frozen=True)
class CaptureWish:
    """That a bot should capture, and how often."""

    interval: float


@dataclass(frozen=True)
class BoundBot:
    bot: str
    name: str
    created: bool


@dataclass(frozen=True)
class BotCapture:
    """What a bot wants of capture: the window it looks for, how often, whether at all."""

    bot: str
    identity: WindowIdentity | None  # None: it never read from a window
    interval: float
    capturing: bool
    paused: bool
    hwnd: int | None

    @classmethod
    def from_row(cls, row: Any) -> BotCapture:
        identity = WindowIdentity(row.process, row.stem) if row.stem is not None else None
        return cls(row.bot, identity, row.interval or 1.0, row.capturing, row.paused, row.hwnd)

    @property
    def state(self) -> BotState:
        """What capture does for it, as /bots and /workers say it."""
        if self.paused:
            return "paused"
        if not self.capturing:
            return "stopped"
        return "capturing" if self.hwnd is not None else "waiting_for_window"


BOT_CAPTURE = select(
    BOTS.c.bot,
    BOTS.c.process,
    BOTS.c.stem,
    BOTS.c.interval,
    BOTS.c.capturing,
    BOTS.c.paused,
    BOTS.c.hwnd,
)


@dataclass(frozen=True)
class ObservationInput:
    """What a capture or an upload read, ready to store and to trade on."""

    bot: str
    at: datetime
    name: str | None = None
    ticker: str | None = None
    price: Decimal | None = None
    trend: Trend = Trend.NONE
    confidence: float | None = None
    image_path: str | None = None
    hwnd: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # A client's key for this upload: a second observation with it is not stored again.
    idempotency_key: str | None = None
    # A digest of the request that carried the key: a retry must match it. None (a key
    # stored before digests were kept, or a caller without one) matches anything.
    request_hash: str | None = None
    # The price as the client wrote it ("$189.23"), kept on the history record.
    price_text: str | None = None

    def row(self) -> dict[str, Any]:
        """The columns an observation and its history record share."""
        return {
            "ts": self.at,
            "bot": self.bot,
            "name": self.name,
            "ticker": self.ticker,
            "price": self.price,
            "trend": self.trend.value,
            "image_path": self.image_path,
            "meta": self.meta,
        }


@dataclass(frozen=True)
class StoredObservation:
    observation_id: int
    record_id: int | None
    trade: TradeEvent | None
    trade_id: int | None
    # What the bot's indicator rules made of this reading (None: the bot has none).
    indicator: str | None = None
    # True when an earlier observation with the same idempotency key was stored instead.
    replayed: bool = False
    image_path: str | None = None
    # When it was seen: a retry is answered with the first one's time.
    at: datetime | None = None


@dataclass(frozen=True)
class RecordedTrade:
    trade_id: int
    trade: TradeEvent


@dataclass(slots=True)
class BotRow:
    """A bot as one transaction reads it (locked) and writes it back."""

    bot: str
    hwnd: int | None
    name: str | None
    ticker: str | None
    updated_at: datetime | None
    last_signal: dict[str, Any] | None
    total_pnl: Decimal
    meta: dict[str, Any]
    # Read from `meta` once: a row whose meta may have changed is read again (RowCache).
    _rules: Rules | None = field(default=None, repr=False, compare=False)
    _costs: Costs | None = field(default=None, repr=False, compare=False)
    _indicators: IndicatorSettings | None = field(default=None, repr=False, compare=False)
    _indicators_read: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: RowMapping) -> BotRow:
        return cls(
            bot=row["bot"],
            hwnd=row["hwnd"],
            name=row["name"],
            ticker=row["ticker"],
            updated_at=row["updated_at"],
            last_signal=row["last_signal"],
            total_pnl=row["total_pnl"] if row["total_pnl"] is not None else Decimal(0),
            meta=row["meta"] or {},
        )

    def saw(self, observation: ObservationInput) -> None:
        # A bot keeps its name once it has one (binding or a rename gives it).
        self.name = self.name or observation.name
        self.ticker = observation.ticker or self.ticker
        self.updated_at = observation.at

    def settings(self) -> BotSettings:
        return BotSettings.load(self.meta)

    def trading_rules(self) -> Rules:
        if self._rules is None:
            self._rules = self.settings().trading_rules()
        return self._rules

    def trading_costs(self, defaults: Costs) -> Costs:
        if self._costs is None:
            self._costs = self.settings().trading_costs(defaults)
        return self._costs

    def indicator_settings(self) -> IndicatorSettings | None:
        """The bot's indicator rules when it trades on them (not on the trend alone)."""
        if not self._indicators_read:
            indicators = self.settings().indicators
            self._indicators = indicators if indicators is not None and indicators.in_use else None
            self._indicators_read = True
        return self._indicators

    def parameters(self) -> dict[str, Any]:
        """For `_BOT_WRITE`."""
        return {name: getattr(self, name) for name in BOT_STATE} | {"key_bot": self.bot}


@dataclass(slots=True)
class PositionRow:
    """The simulator's position for (bot, ticker) and the history record its buy opened."""

    position: Position
    open_record_id: int | None

    @classmethod
    def from_row(cls, row: RowMapping) -> PositionRow:
        direction = row["last_direction"]
        position = Position(
            bot=row["bot"],
            ticker=row["ticker"],
            is_long=row["is_long"],
            entry_price=row["entry_price"],
            entry_time=row["entry_time"],
            first_cycle_done=row["first_cycle_done"],
            waiting=row["waiting"],
            last_direction=Trend(direction) if direction else None,
            last_price=row["last_price"],
            consecutive_drops=row["consecutive_drops"],
            down_since=row["down_since"],
            quantity=row["quantity"],
            entry_fill=row["entry_fill_price"],
            entry_fee=row["entry_fee"] if row["entry_fee"] is not None else ZERO,
            last_buy_time=row["last_buy_time"],
            last_sell_time=row["last_sell_time"],
        )
        return cls(position, row["open_record_id"])

    def parameters(self) -> dict[str, Any]:
        """For `_POSITION_WRITE`."""
        position = self.position
        direction = position.last_direction
        return {
            "is_long": position.is_long,
            "entry_price": position.entry_price,
            "entry_time": position.entry_time,
            "first_cycle_done": position.first_cycle_done,
            "waiting": position.waiting,
            "last_direction": direction.value if direction is not None else None,
            "last_price": position.last_price,
            "consecutive_drops": position.consecutive_drops,
            "down_since": position.down_since,
            "open_record_id": self.open_record_id,
            "quantity": position.quantity,
            "entry_fill_price": position.entry_fill,
            "entry_fee": position.entry_fee if position.is_long else None,
            "last_buy_time": position.last_buy_time,
            "last_sell_time": position.last_sell_time,
            "key_bot": position.bot,
            "key_ticker": position.ticker,
        }


class ObservationSink(Protocol):
    """Where captures send what they read: the ledger itself, or its group-commit writer."""

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation: ...
