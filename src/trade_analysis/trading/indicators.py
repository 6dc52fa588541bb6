"""Indicator rules on a bot's price series: RSI with Bollinger bands, and a slope rule.

Pure: prices in, a verdict (buy, sell or nothing, and why) out. The indicators are
`talipp`'s, fed one price at a time, so a reading costs the same however long the
series. The series is the prices a bot read for one ticker, one per reading the
simulator sees (a repeated frame is not a new reading).

- **RSI with Bollinger bands** (the original's rule): buy when the RSI is at or
  under its floor and the price at or under the lower band; sell when the RSI is
  at or over its ceiling and the price at or over the upper band. Defaults: RSI
  over 14 readings, floor 30, ceiling 70, bands over 20 readings at 2 sigma
  (population standard deviation).
- **Slope**: the least-squares slope of the last N prices, in per cent of their
  mean per reading; buy at or over `threshold_pct`, sell at or under its negative.
  talipp has no regression, so the slope is 6 * (WMA - SMA) / (N - 1), exact for
  weights 1..N (both averages incremental).

With both rules, both must say the same to act. `combine` then puts the verdict
together with the chart's trend as the bot's settings say (`signal`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from talipp.indicators import BB, RSI, SMA, WMA

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.simulator import Position, Reason, Signal, TradeEvent

MAX_PERIOD = 500


class RsiBollingerSettings(BaseModel):
    """The original's RSI/Bollinger rule; its defaults are the original's."""

    model_config = ConfigDict(extra="forbid")

    rsi_period: int = Field(14, ge=2, le=MAX_PERIOD, description="readings in the RSI")
    rsi_floor: float = Field(30, gt=0, lt=100, description="buy at or under this RSI")
    rsi_ceiling: float = Field(70, gt=0, lt=100, description="sell at or over this RSI")
    bollinger_period: int = Field(20, ge=2, le=MAX_PERIOD, description="readings in the bands")
    bollinger_sigma: float = Field(2.0, gt=0, le=10, description="band width in deviations")

    @model_validator(mode="after")
    def _floor_under_ceiling(self) -> Self:
        if self.rsi_floor >= self.rsi_ceiling:
            raise ValueError(
                f"rsi_floor ({self.rsi_floor:g}) must be under rsi_ceiling ({self.rsi_ceiling:g})"
            )
        return self


class SlopeSettings(BaseModel):
    """Trade the direction of the last `period` prices when it is steep enough."""

    model_config = ConfigDict(extra="forbid")

    period: int = Field(10, ge=2, le=MAX_PERIOD, description="readings in the regression")
    threshold_pct: float = Field(
        ..., gt=0, le=100, description="per cent of the mean per reading: buy at +, sell at -"
    )


class SignalSource(StrEnum):
    """What a bot with indicator rules trades on."""

    TREND = "trend"  # the chart's trend alone: the rules are kept but not used
    INDICATORS = "indicators"  # the indicator rules alone
    BOTH = "both"  # the trend and the indicator rules must agree


class IndicatorSettings(BaseModel):
    """A bot's indicator rules (under `indicators` in its settings)."""

    model_config = ConfigDict(extra="forbid")

    signal: SignalSource = Field(
        SignalSource.INDICATORS,
        description="trade on the `trend`, the `indicators`, or `both` agreeing",
    )
    rsi_bollinger: RsiBollingerSettings | None = None
    slope: SlopeSettings | None = None

    @model_validator(mode="after")
    def _some_rule(self) -> Self:
        if self.rsi_bollinger is None and self.slope is None:
            raise ValueError("give rsi_bollinger or slope (or both), or null to remove indicators")
        return self

    @property
    def in_use(self) -> bool:
        return self.signal is not SignalSource.TREND

    def longest_period(self) -> int:
        """How many prices fill every indicator (RSI needs one more than its period)."""
        periods = [1]
        if self.rsi_bollinger is not None:
            periods += [self.rsi_bollinger.rsi_period + 1, self.rsi_bollinger.bollinger_period]
        if self.slope is not None:
            periods.append(self.slope.period)
        return max(periods)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the indicators make of the newest price: buy, sell or nothing (None), and why."""

    side: Side | None
    why: str


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.6g}"


class _RsiBollinger:
    def __init__(self, settings: RsiBollingerSettings) -> None:
        self.settings = settings
        self.rsi = RSI(settings.rsi_period)
        self.bands = BB(settings.bollinger_period, settings.bollinger_sigma)

    def add(self, price: float) -> None:
        self.rsi.add(price)
        self.bands.add(price)

    def purge(self, count: int) -> None:
        self.rsi.purge_oldest(count)
        self.bands.purge_oldest(count)

    def verdict(self, price: float) -> Verdict:
        s = self.settings
        rsi, bands = self.rsi[-1], self.bands[-1]
        if rsi is None:
            changes = max(len(self.rsi.input_values) - 1, 0)
            return Verdict(None, f"RSI warming up ({changes}/{s.rsi_period})")
        if bands is None:
            seen = len(self.bands.input_values)
            return Verdict(None, f"Bollinger bands warming up ({seen}/{s.bollinger_period})")
        lower, upper = bands.lb, bands.ub
        low = rsi <= s.rsi_floor
        high = rsi >= s.rsi_ceiling
        if low and price <= lower:
            return Verdict(
                Side.BUY,
                f"RSI {rsi:.1f} <= {_num(s.rsi_floor)} and price {_num(price)} "
                f"<= lower band {_num(lower)}",
            )
        if high and price >= upper:
            return Verdict(
                Side.SELL,
                f"RSI {rsi:.1f} >= {_num(s.rsi_ceiling)} and price {_num(price)} "
                f">= upper band {_num(upper)}",
            )
        if low:
            why = (
                f"RSI {rsi:.1f} <= {_num(s.rsi_floor)} but price {_num(price)} "
                f"> lower band {_num(lower)}"
            )
        elif high:
            why = (
                f"RSI {rsi:.1f} >= {_num(s.rsi_ceiling)} but price {_num(price)} "
                f"< upper band {_num(upper)}"
            )
        else:
            why = f"RSI {rsi:.1f} between {_num(s.rsi_floor)} and {_num(s.rsi_ceiling)}"
        return Verdict(None, why)


class _Slope:
    def __init__(self, settings: SlopeSettings) -> None:
        self.settings = settings
        self.simple = SMA(settings.period)
        self.weighted = WMA(settings.period)

    def add(self, price: float) -> None:
        self.simple.add(price)
        self.weighted.add(price)

    def purge(self, count: int) -> None:
        self.simple.purge_oldest(count)
        self.weighted.purge_oldest(count)

    def slope_pct(self) -> float | None:
        """The least-squares slope of the last `period` prices, per cent of their mean."""
        mean, weighted = self.simple[-1], self.weighted[-1]
        if mean is None or weighted is None or mean == 0:
            return None
        return float(600 * (weighted - mean) / (self.settings.period - 1) / mean)

    def verdict(self, price: float) -> Verdict:
        s = self.settings
        slope = self.slope_pct()
        if slope is None:
            seen = len(self.simple.input_values)
            return Verdict(None, f"slope warming up ({min(seen, s.period)}/{s.period})")
        said = f"slope {slope:+.2f}%/reading over {s.period} readings"
        threshold = _num(s.threshold_pct)
        if slope >= s.threshold_pct:
            return Verdict(Side.BUY, f"{said} >= {threshold}%")
        if slope <= -s.threshold_pct:
            return Verdict(Side.SELL, f"{said} <= -{threshold}%")
        return Verdict(None, f"{said} within ±{threshold}%")


class IndicatorState:
    """The indicators of one bot and ticker, fed one price at a time."""

    def __init__(self, settings: IndicatorSettings) -> None:
        self.settings = settings
        self._rules: list[_RsiBollinger | _Slope] = []
        if settings.rsi_bollinger is not None:
            self._rules.append(_RsiBollinger(settings.rsi_bollinger))
        if settings.slope is not None:
            self._rules.append(_Slope(settings.slope))
        # Keep a few periods of input, no more: talipp keeps every value it is given.
        self.keep = 4 * settings.longest_period() + 16
        self._held = 0
        self.readings = 0
        self.last: Decimal | float | None = None

    def add(self, price: Decimal | float) -> Verdict:
        """Feed the newest price; what the rules make of it."""
        self.last = price
        value = float(price)
        for rule in self._rules:
            rule.add(value)
        self.readings += 1
        self._held += 1
        if self._held > 2 * self.keep:
            for rule in self._rules:
                rule.purge(self._held - self.keep)
            self._held = self.keep
        return self.verdict(value)

    def verdict(self, price: float) -> Verdict:
        verdicts = [rule.verdict(price) for rule in self._rules]
        sides = {verdict.side for verdict in verdicts}
        why = "; ".join(verdict.why for verdict in verdicts)
        side = sides.pop() if len(sides) == 1 else None
        return Verdict(side, why)


def combine(signal: SignalSource, trend: Trend, verdict: Verdict) -> tuple[Trend, str]:
    """The trend the simulator is given, and why, for the chart's `trend` and `verdict`."""
    said = {Side.BUY: Trend.UP, Side.SELL: Trend.DOWN, None: Trend.NONE}[verdict.side]
    if signal is SignalSource.TREND:
        return trend, f"trend {trend.value}"
    if signal is SignalSource.INDICATORS:
        return said, verdict.why
    if said is not Trend.NONE and said is trend:
        return said, f"trend {trend.value} and {verdict.why}"
    if said is Trend.NONE:
        return Trend.NONE, f"trend {trend.value} but {verdict.why}"
    return Trend.NONE, f"trend {trend.value} disagrees: {verdict.why}"


def distinct_readings(readings: Iterable[tuple[Decimal, str]]) -> list[Decimal]:
    """The prices of stored (price, trend) readings, oldest first, a run of the same
    reading once: a repeated frame is not a new reading."""
    prices: list[Decimal] = []
    last = None
    for reading in readings:
        if reading != last:
            prices.append(reading[0])
        last = reading
    return prices


def steer(
    settings: IndicatorSettings, signal: Signal, position: Position, verdict: Verdict
) -> tuple[Signal, Position, str]:
    """The signal and position the simulator decides on for a bot on indicator rules, and
    why: the trend the rules give, and no first cycle (a rule's sell never buys)."""
    trend, why = combine(settings.signal, signal.trend, verdict)
    return replace(signal, trend=trend), replace(position, first_cycle_done=True), why


def explain(trade: TradeEvent, why: str) -> TradeEvent:
    """A trade on indicator rules: its reason `indicator` (exits keep theirs) and its why."""
    reason = Reason.INDICATOR if trade.reason is Reason.SIGNAL else trade.reason
    return replace(trade, reason=reason, why=why)


class IndicatorBook:
    """Indicator state per (bot, ticker), made on first use from the prices read before.

    `history` gives those prices (oldest first) when a state is made: after a restart,
    or when a bot's indicator settings change. The book holds at most `capacity`
    states and forgets the least recently used.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._states: OrderedDict[tuple[str, str], IndicatorState] = OrderedDict()

    def reading(
        self,
        bot: str,
        ticker: str,
        settings: IndicatorSettings,
        price: Decimal,
        history: Callable[[int], Iterable[Decimal]],
        previous: Decimal | None,
    ) -> Verdict:
        """Feed `price` to the bot's indicators for `ticker`; `history(n)` gives up to n
        earlier prices when the state must be made. `previous` is the last price the
        bot's position saw: a state that did not see it last (another process wrote the
        readings since, or they were rolled back) is made again."""
        key = (bot, ticker)
        state = self._states.get(key)
        if state is None or state.settings != settings or state.last != previous:
            state = IndicatorState(settings)
            for earlier in history(state.keep):
                state.add(earlier)
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)
        return state.add(price)

    def forget(self, bot: str | None = None) -> None:
        """Drop the states of one bot (or all): they are made again from history."""
        for key in [key for key in self._states if bot is None or key[0] == bot]:
            del self._states[key]
