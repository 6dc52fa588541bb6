"""The original's bot fields (`POST /bots/upsert`), mapped onto this service's rules.

The original kept whatever a client sent for a bot and read its rules from it:
rule 1 take profit, rule 2 stop loss, rule 3 drops in a row, rule 4 trading
hours, and more. Here each field is validated (a boolean is a boolean: `"0"`
and `"false"` are off, not on), the ones this service implements become the
bot's `RulesSettings`, and every field is kept as sent so it comes back as
stored. Pure: fields in, rules out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from trade_analysis.domain import MAX_PRICE
from trade_analysis.trading.rules import RulesSettings

_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

# The fields that become rules here; the others are kept and returned only.
MAPPED = (
    "rule_1_enabled",
    "take_profit_amount",
    "rule_2_enabled",
    "stop_loss_amount",
    "rule_3_enabled",
    "rule_3_drop_count",
    "rule_4_enabled",
)


class OriginalBotFields(BaseModel):
    """The fields the original's loop read, typed; any other field is kept as sent."""

    model_config = ConfigDict(extra="allow")

    bot_id: str | None = Field(None, max_length=64)
    id: str | None = Field(None, max_length=64)
    hwnd: int | None = Field(None, ge=0, le=2**63 - 1)
    name: str | None = Field(None, max_length=255, pattern=r"^[^\x00]*$")
    ticker: str | None = Field(None, max_length=16)
    trading_paused: bool | None = None
    default_trade_enabled: bool | None = None
    rule_1_enabled: bool | None = None
    take_profit_amount: Decimal | None = Field(None, ge=0, lt=MAX_PRICE)
    rule_2_enabled: bool | None = None
    stop_loss_amount: Decimal | None = Field(None, ge=0, lt=MAX_PRICE)
    rule_3_enabled: bool | None = None
    rule_3_drop_count: int | None = Field(None, ge=0, le=1_000_000)
    rule_4_enabled: bool | None = None
    rule_4_start_time: str | None = Field(None, pattern=_HH_MM)
    rule_4_end_time: str | None = Field(None, pattern=_HH_MM)
    rule_4_days: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(None, max_length=7)


def touches_rules(fields: Mapping[str, Any]) -> bool:
    return any(name in fields for name in MAPPED)


def rules_from_fields(stored: OriginalBotFields, current: RulesSettings | None) -> RulesSettings:
    """The bot's rules once the original's fields are applied (others keep their value).

    A rule is on when it is enabled and its amount is above zero: a stop loss of 0
    does not sell at the first tick below entry. Rule 4 is the trading-hours gate:
    on, the bot trades Mon-Fri 09:30-16:00 in its exchange's time zone, and (unlike
    the original) exits still act outside those hours.
    """
    rules = current or RulesSettings()

    def amount(enabled: bool | None, value: Decimal | None) -> Decimal | None:
        return value if enabled and value is not None and value > 0 else None

    drops = stored.rule_3_drop_count
    return rules.model_copy(
        update={
            "take_profit": amount(stored.rule_1_enabled, stored.take_profit_amount),
            "stop_loss": amount(stored.rule_2_enabled, stored.stop_loss_amount),
            "sell_after_drops": drops if stored.rule_3_enabled and drops else None,
            "market_hours_only": bool(stored.rule_4_enabled),
        }
    )
