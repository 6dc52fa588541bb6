"""Per-bot trading rules and costs as users save them (under `rules` and `costs` in the
bot's settings)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from trade_analysis.domain import MAX_PRICE, MAX_PRICE_DECIMALS, decimal_places
from trade_analysis.trading.fills import Costs, StakeKind
from trade_analysis.trading.simulator import Rules

_DAY_SECONDS = 86_400


def _places(most: int) -> AfterValidator:
    """At most `most` decimals, so every amount the ledger keeps stays exact."""

    def check(amount: Decimal | None) -> Decimal | None:
        if amount is not None and decimal_places(amount) > most:
            raise ValueError(f"at most {most} decimals")
        return amount

    return AfterValidator(check)


Amount = Annotated[Decimal, Field(ge=0, lt=MAX_PRICE), _places(MAX_PRICE_DECIMALS)]


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
    cooldown_seconds: float | None = Field(
        None, gt=0, le=_DAY_SECONDS, description="no buy until this long after the last sell"
    )
    min_reentry_seconds: float | None = Field(
        None,
        gt=0,
        le=_DAY_SECONDS,
        description="no buy until this long after the last buy (the time between two entries)",
    )
    first_cycle: bool = Field(
        True,
        description="the original's first round trip: a first `down` while flat buys and the "
        "next `down` sells it; false starts every ticker in the normal mode (`up` buys)",
    )

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


class CostsSettings(BaseModel):
    """A bot's costs and size; a field left out takes the service's default (DEFAULT_*)."""

    model_config = ConfigDict(extra="forbid")

    fee_percent: Annotated[Decimal, Field(ge=0, lt=100), _places(6)] | None = Field(
        None, description="fee per order, percent of what it trades"
    )
    fee_fixed: Amount | None = Field(None, description="fixed fee per order")
    slippage_bps: Annotated[Decimal, Field(ge=0, lt=10_000), _places(4)] | None = Field(
        None, description="basis points against the trader: buys fill higher, sells lower"
    )
    stake_kind: StakeKind | None = Field(
        None,
        description="how a buy is sized: `quantity` (units), `amount` (money) or "
        "`equity_percent` (percent of the bot's paper equity)",
    )
    stake: Annotated[Decimal, Field(gt=0, lt=MAX_PRICE), _places(MAX_PRICE_DECIMALS)] | None = (
        Field(None, description="units, money or percent, as `stake_kind` says")
    )
    starting_balance: Amount | None = Field(
        None, description="paper equity before the first trade (equity = this + realised P&L)"
    )
    min_trade_amount: Amount | None = Field(
        None, description="a buy worth less than this (fill price x quantity) is not made"
    )
    max_trade_amount: Amount | None = Field(
        None, description="a buy is cut to at most this much money"
    )
    quantity_decimals: int | None = Field(
        None, ge=0, le=8, description="0: whole units; more allows fractional quantities"
    )

    @model_validator(mode="after")
    def _consistent(self) -> CostsSettings:
        if (
            self.min_trade_amount is not None
            and self.max_trade_amount is not None
            and self.min_trade_amount > self.max_trade_amount
        ):
            raise ValueError("min_trade_amount is above max_trade_amount")
        if (
            self.stake_kind is StakeKind.EQUITY_PERCENT
            and self.stake is not None
            and self.stake > 100
        ):
            raise ValueError("an equity_percent stake is at most 100")
        return self

    def over(self, defaults: Costs) -> Costs:
        """These settings, each one left out taken from `defaults`."""
        given = {name: value for name, value in self.model_dump().items() if value is not None}
        return replace(defaults, **given)
