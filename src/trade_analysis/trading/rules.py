"""Per-bot trading rules as users save them (under `rules` in the bot's settings)."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trade_analysis.domain import MAX_PRICE
from trade_analysis.trading.simulator import Rules


class RulesSettings(BaseModel):
    """The optional rules a bot may switch on; every one is off by default."""

    model_config = ConfigDict(extra="forbid")

    take_profit: Decimal | None = Field(
        None, gt=0, lt=MAX_PRICE, description="sell at entry + this amount"
    )
    stop_loss: Decimal | None = Field(
        None, gt=0, lt=MAX_PRICE, description="sell at entry - this amount"
    )
    sell_after_drops: int | None = Field(
        None, ge=1, description="sell after N price drops in a row"
    )
    market_hours_only: bool = Field(
        False, description="trade only Mon-Fri 09:30-16:00 exchange time"
    )
    reversal_minutes: float | None = Field(
        None, gt=0, le=525_600, description="buy an `up` only after `down` lasted this many minutes"
    )
    exchange_timezone: str = Field("America/New_York", max_length=64)

    @field_validator("exchange_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    def to_rules(self) -> Rules:
        return Rules(**self.model_dump())
