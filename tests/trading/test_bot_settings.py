"""BotSettings: one model read from the bot's row, merged with a change, saved as given."""

from __future__ import annotations

from decimal import Decimal

from trade_analysis.analysis import Crop
from trade_analysis.trading.bot_settings import BotSettings
from trade_analysis.trading.simulator import NO_RULES


def test_load_keeps_what_validates_and_leaves_out_the_rest() -> None:
    saved = {
        "rules": {"take_profit": -1},  # no longer valid
        "ocr": True,
        "crop": {"right": 0.3},
        "from_an_older_version": 1,
    }
    settings = BotSettings.load(saved)
    assert settings.to_meta() == {"ocr": True, "crop": {"right": 0.3}}
    assert settings.trading_rules() == NO_RULES
    assert settings.crop is not None and settings.crop.to_crop() == Crop(right=0.3)


def test_nothing_saved_means_no_settings() -> None:
    assert BotSettings.load(None).to_meta() == {}
    assert BotSettings.load({}).trading_rules() == NO_RULES


def test_merge_replaces_only_what_the_change_gives() -> None:
    saved = BotSettings.load({"rules": {"stop_loss": "2"}, "title_pattern": r"(?P<ticker>\w+)"})
    merged = saved.merge(BotSettings.model_validate({"ocr": False, "title_pattern": ""}))
    assert merged.to_meta() == {"rules": {"stop_loss": "2"}, "ocr": False, "title_pattern": None}
    assert merged.trading_rules().stop_loss == Decimal(2)
