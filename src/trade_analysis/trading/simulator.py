"""The paper-trading state machine: one long-only position per (bot, ticker).

Pure and deterministic: a position and a signal in, the next position and at
most one trade out. No clock (time arrives with the signal), no database (the
ledger persists positions and trades in one transaction), so the same function
serves live capture, uploads, manual orders and CSV replays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.fills import (
    FREE,
    ONE,
    ZERO,
    Costs,
    Fill,
    OrderTooSmall,
    buy_fill,
    round_trip_profit,
    sell_fill,
)


class Reason(StrEnum):
    SIGNAL = "signal"
    FIRST_CYCLE = "first_cycle"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    CONSECUTIVE_DROPS = "consecutive_drops"
    REVERSAL = "reversal"
    MANUAL = "manual"
    # A bot's positions closed by hand at the last price it read (its window may be gone).
    MANUAL_CLOSE = "manual close"
    # Every bot's open positions closed at once (`POST /close_all_positions`), at the last
    # price each read.
    CLOSE_ALL = "close all"
    # Bought or sold on the bot's indicator rules (`TradeEvent.why` gives the figures).
    INDICATOR = "indicator"


class TradingError(Exception):
    """An order the simulator refuses; the message says why."""


class PositionAlreadyOpen(TradingError):
    pass


class NoOpenPosition(TradingError):
    pass


@dataclass(frozen=True, slots=True)
class Rules:
    """Optional exits and filters, per bot; all off by default."""

    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    sell_after_drops: int | None = None
    market_hours_only: bool = False
    reversal_minutes: float | None = None
    exchange_timezone: str = "America/New_York"
    # No buy until this long after the ticker's last sell.
    cooldown_seconds: float | None = None
    # No buy until this long after the ticker's last buy (the time between two entries).
    min_reentry_seconds: float | None = None
    # The original's first round trip: a first `down` while flat buys, the next `down` sells.
    first_cycle: bool = True


NO_RULES = Rules()


@dataclass(frozen=True, slots=True)
class Signal:
    bot: str
    ticker: str
    price: Decimal
    trend: Trend
    at: datetime


@dataclass(frozen=True, slots=True)
class Position:
    bot: str
    ticker: str
    is_long: bool = False
    entry_price: Decimal | None = None
    entry_time: datetime | None = None
    first_cycle_done: bool = False
    # First cycle: bought on a `down` and waiting for the next `down` to sell.
    waiting: bool = False
    last_direction: Trend | None = None
    last_price: Decimal | None = None
    consecutive_drops: int = 0
    down_since: datetime | None = None
    # While long: the buy as filled (units, price paid, fee). None on rows from before
    # costs existed: one unit at the entry price, no fee.
    quantity: Decimal | None = None
    entry_fill: Decimal | None = None
    entry_fee: Decimal = ZERO
    last_buy_time: datetime | None = None
    last_sell_time: datetime | None = None

    def bought(self) -> Fill:
        """The open position's buy as filled."""
        assert self.entry_price is not None, "a long position always has an entry price"
        return Fill(
            self.quantity if self.quantity is not None else ONE,
            self.entry_fill if self.entry_fill is not None else self.entry_price,
            self.entry_fee,
        )


@dataclass(frozen=True, slots=True)
class TradeEvent:
    bot: str
    ticker: str
    side: Side
    price: Decimal
    at: datetime
    reason: Reason
    # Set on sells: the buy this sell closes and what it earned, net of both fees.
    profit: Decimal | None = None
    entry_price: Decimal | None = None
    entry_time: datetime | None = None
    # As filled: units, the price paid or received (None: `price`), the fee paid.
    quantity: Decimal = ONE
    fill_price: Decimal | None = None
    fee: Decimal = ZERO
    # What the rule saw, in words, stored with the trade (indicator trades: "RSI 27.4 <= 30
    # and ..."); None: the reason says it all (`wire.why` puts it in words).
    why: str | None = None

    @property
    def filled_at(self) -> Decimal:
        """The price the order filled at (the read price moved by slippage)."""
        return self.fill_price if self.fill_price is not None else self.price


_MARKET_OPEN = time(9, 30)
_MARKET_CLOSE = time(16, 0)


def in_market_hours(moment: datetime, timezone: str) -> bool:
    local = moment.astimezone(ZoneInfo(timezone))
    return local.weekday() < 5 and _MARKET_OPEN <= local.time() < _MARKET_CLOSE


def _buy(
    position: Position, price: Decimal, at: datetime, reason: Reason, fill: Fill
) -> TradeEvent:
    return TradeEvent(
        position.bot,
        position.ticker,
        Side.BUY,
        price,
        at,
        reason,
        quantity=fill.quantity,
        fill_price=fill.price,
        fee=fill.fee,
    )


def _sell(
    position: Position, price: Decimal, at: datetime, reason: Reason, costs: Costs
) -> TradeEvent:
    bought = position.bought()
    sold = sell_fill(costs, price, bought.quantity)
    return TradeEvent(
        position.bot,
        position.ticker,
        Side.SELL,
        price,
        at,
        reason,
        profit=round_trip_profit(bought, sold),
        entry_price=position.entry_price,
        entry_time=position.entry_time,
        quantity=sold.quantity,
        fill_price=sold.price,
        fee=sold.fee,
    )


def apply_trade(position: Position, trade: TradeEvent) -> Position:
    """The position after a trade (used by the simulator and to rebuild from the ledger)."""
    if trade.side is Side.BUY:
        return replace(
            position,
            is_long=True,
            entry_price=trade.price,
            entry_time=trade.at,
            consecutive_drops=0,
            quantity=trade.quantity,
            entry_fill=trade.filled_at,
            entry_fee=trade.fee,
            last_buy_time=trade.at,
        )
    return replace(
        position,
        is_long=False,
        entry_price=None,
        entry_time=None,
        consecutive_drops=0,
        quantity=None,
        entry_fill=None,
        entry_fee=ZERO,
        last_sell_time=trade.at,
    )


def entry_blocked(position: Position, at: datetime, rules: Rules) -> bool:
    """Whether a cooldown after the last sell, or the minimum delay since the last buy,
    still holds a new buy back at `at`."""
    waits = (
        (rules.cooldown_seconds, position.last_sell_time),
        (rules.min_reentry_seconds, position.last_buy_time),
    )
    return any(
        seconds is not None and since is not None and at - since < timedelta(seconds=seconds)
        for seconds, since in waits
    )


def _observe(position: Position, signal: Signal) -> Position:
    """Track direction, drops and how long the trend has been down, trade or not."""
    drops = position.consecutive_drops
    if position.last_price is not None and signal.price < position.last_price:
        drops += 1
    elif position.last_price is not None and signal.price > position.last_price:
        drops = 0
    down_since = position.down_since
    if signal.trend is Trend.DOWN:
        down_since = down_since or signal.at
    elif signal.trend is Trend.UP:
        down_since = None
    return replace(
        position,
        last_direction=signal.trend if signal.trend is not Trend.NONE else position.last_direction,
        last_price=signal.price,
        consecutive_drops=drops,
        down_since=down_since,
    )


def _forced_exit(position: Position, signal: Signal, rules: Rules) -> Reason | None:
    """Exits that win over the trend: stop loss, take profit, a run of drops."""
    if not position.is_long or position.entry_price is None:
        return None
    if rules.stop_loss is not None and signal.price <= position.entry_price - rules.stop_loss:
        return Reason.STOP_LOSS
    if rules.take_profit is not None and signal.price >= position.entry_price + rules.take_profit:
        return Reason.TAKE_PROFIT
    if rules.sell_after_drops is not None and position.consecutive_drops >= rules.sell_after_drops:
        return Reason.CONSECUTIVE_DROPS
    return None


def _first_cycle(
    position: Position, signal: Signal, rules: Rules
) -> tuple[Position, Reason | None]:
    """Before the first round trip: a first `down` buys and waits for the next `down`."""
    trend = signal.trend
    if position.waiting:
        if trend is not Trend.DOWN:
            return position, None
        done = replace(position, waiting=False, first_cycle_done=True)
        if position.is_long and rules.take_profit is None:
            return done, Reason.FIRST_CYCLE
        return done, None
    if position.is_long:
        return position, None
    if trend is Trend.DOWN:
        return replace(position, waiting=True), Reason.FIRST_CYCLE
    if trend is Trend.UP:
        return replace(position, first_cycle_done=True), Reason.SIGNAL
    return position, None


def _normal(previous: Position, position: Position, signal: Signal, rules: Rules) -> Reason | None:
    if signal.trend is Trend.UP and not position.is_long:
        if rules.reversal_minutes is None:
            return Reason.SIGNAL
        down_since = previous.down_since
        lasted = down_since is not None and signal.at - down_since >= timedelta(
            minutes=rules.reversal_minutes
        )
        return Reason.REVERSAL if lasted else None
    if signal.trend is Trend.DOWN and position.is_long and rules.take_profit is None:
        return Reason.SIGNAL
    return None


def decide(
    position: Position,
    signal: Signal,
    rules: Rules = NO_RULES,
    costs: Costs = FREE,
    realised: Decimal = ZERO,
) -> tuple[Position, TradeEvent | None]:
    """The next position and the trade (if any) that `signal` causes, filled by `costs`
    (`realised`: the bot's realised P&L, for a stake in percent of its equity)."""
    observed = _observe(position, signal)
    if rules.market_hours_only and not in_market_hours(signal.at, rules.exchange_timezone):
        return observed, None
    exit_reason = _forced_exit(observed, signal, rules)
    if exit_reason is not None:
        trade = _sell(observed, signal.price, signal.at, exit_reason, costs)
        return apply_trade(observed, trade), trade
    if rules.first_cycle and not observed.first_cycle_done:
        staged, reason = _first_cycle(observed, signal, rules)
    else:
        staged, reason = observed, _normal(position, observed, signal, rules)
    if reason is None:
        return staged, None
    if staged.is_long:
        trade = _sell(staged, signal.price, signal.at, reason, costs)
        return apply_trade(staged, trade), trade
    if entry_blocked(staged, signal.at, rules):
        return observed, None
    try:
        fill = buy_fill(costs, signal.price, realised)
    except OrderTooSmall:
        return observed, None
    trade = _buy(staged, signal.price, signal.at, reason, fill)
    return apply_trade(staged, trade), trade


def manual_order(
    position: Position,
    side: Side,
    price: Decimal,
    at: datetime,
    costs: Costs = FREE,
    realised: Decimal = ZERO,
) -> tuple[Position, TradeEvent]:
    """A trader's own buy or sell; it also ends the first cycle, since the trader took over.
    Waits do not hold a trader back; a buy the stake cannot size raises OrderTooSmall."""
    if side is Side.BUY and position.is_long:
        raise PositionAlreadyOpen(
            f"{position.ticker} is already long for bot {position.bot!r} "
            f"(bought at {position.entry_price}); sell it first"
        )
    if side is Side.SELL and not position.is_long:
        raise NoOpenPosition(
            f"{position.ticker} has no open position for bot {position.bot!r}; nothing to sell"
        )
    taken_over = replace(position, first_cycle_done=True, waiting=False)
    if side is Side.BUY:
        trade = _buy(taken_over, price, at, Reason.MANUAL, buy_fill(costs, price, realised))
    else:
        trade = _sell(taken_over, price, at, Reason.MANUAL, costs)
    return apply_trade(taken_over, trade), trade


def close_position(
    position: Position,
    at: datetime,
    costs: Costs = FREE,
    reason: Reason = Reason.MANUAL_CLOSE,
) -> tuple[Position, TradeEvent]:
    """Sell an open position at the last price its bot read (`manual close`, `close all`)."""
    if not position.is_long:
        raise NoOpenPosition(f"{position.ticker} has no open position for bot {position.bot!r}")
    price = position.last_price if position.last_price is not None else position.entry_price
    assert price is not None, "a long position always has an entry price"
    trade = _sell(position, price, at, reason, costs)
    return apply_trade(replace(position, first_cycle_done=True, waiting=False), trade), trade
