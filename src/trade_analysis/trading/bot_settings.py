"""What a user saves for a bot: trading rules, costs, how to read its titles, OCR, its crop.

One model, read and written in one way: `BotSettings.load(meta)` reads what is
saved in the bot's row, `merge(changes)` applies a change, `to_meta()` is what
is saved back. Only the settings a user gave are saved (`exclude_unset`), so a
saved crop of `{"right": 0.3}` stays that, and a later change of the rules
keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trade_analysis.analysis.crop import CropSettings
from trade_analysis.analysis.title import compile_title_pattern
from trade_analysis.trading.fills import Costs
from trade_analysis.trading.indicators import IndicatorSettings
from trade_analysis.trading.rules import CostsSettings, RulesSettings
from trade_analysis.trading.simulator import NO_RULES, Rules

logger = logging.getLogger(__name__)


class BotSettings(BaseModel):
    """A bot's settings; fields left out keep their saved value, null removes one."""

    model_config = ConfigDict(extra="forbid")

    rules: RulesSettings | None = None
    costs: CostsSettings | None = Field(
        None, description="fees, slippage and the stake; left out: the service's defaults"
    )
    indicators: IndicatorSettings | None = Field(
        None,
        description="RSI/Bollinger and slope rules on the prices read, and how they "
        "combine with the trend",
    )
    ocr: bool | None = Field(
        None, description="read the price from the chart header when the title has none"
    )
    title_pattern: str | None = Field(
        None,
        max_length=500,
        pattern=r"^[^\x00]*$",  # PostgreSQL text cannot hold NUL
        description="regex with named groups `ticker` and/or `price` for titles the "
        "heuristics miss; empty string removes it",
    )
    crop: CropSettings | None = Field(None, description="this window's own crop")
    original: dict[str, Any] | None = Field(
        None,
        description="the original's bot fields as `/bots/upsert` stored them (merged); "
        "the rules among them are also applied as `rules`",
    )

    @field_validator("title_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern:
            compile_title_pattern(pattern)
        return pattern or None

    @classmethod
    def load(cls, meta: Mapping[str, Any] | None) -> BotSettings:
        """The settings saved in a bot's row; one that no longer validates is left out."""
        saved = {name: value for name, value in (meta or {}).items() if name in cls.model_fields}
        try:
            return cls.model_validate(saved)
        except ValidationError:
            pass
        valid = {}
        for name, value in saved.items():
            try:
                cls.model_validate({name: value})
            except ValidationError:
                logger.warning("saved bot setting %s no longer validates; ignored", name)
                continue
            valid[name] = value
        return cls.model_validate(valid)

    def merge(self, changes: BotSettings) -> BotSettings:
        """These settings with every field `changes` was given replaced."""
        return self.model_copy(
            update={name: getattr(changes, name) for name in changes.model_fields_set}
        )

    def to_meta(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    def trading_rules(self) -> Rules:
        return self.rules.to_rules() if self.rules is not None else NO_RULES

    def trading_costs(self, defaults: Costs) -> Costs:
        return self.costs.over(defaults) if self.costs is not None else defaults
