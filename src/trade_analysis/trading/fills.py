"""The fill model: what an order costs and how much it buys. Pure: no clock, no I/O.

A reading's price becomes a fill: slippage moves it against the trader (a buy
fills higher, a sell lower), the stake says the quantity, and each order pays
a fee (a percent of what it trades and/or a fixed amount). The simulator, the
ledger and the replay all fill through `buy_fill` / `sell_fill`, so a recorded
run re-costed by `trade-analysis replay --costs` gives the trades the live
path would have made.

Every amount is exact (Decimal) and fits the ledger's 10 decimals: a fill
price is rounded against the trader to `10 - quantity_decimals` places, so
fill x quantity is exact, and a fee is rounded up to 10 places. A round
trip's profit is then exactly (sell fill - buy fill) x quantity - both fees.

With no costs set (`FREE`) an order fills one unit at the read price with no
fee: the ledger's behaviour before costs existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from trade_analysis.domain import MAX_PRICE_DECIMALS, Side

ONE = Decimal(1)
ZERO = Decimal(0)
_BASIS_POINTS = Decimal(10_000)
_HUNDRED = Decimal(100)
_FEE_PLACES = Decimal(1).scaleb(-MAX_PRICE_DECIMALS)


class StakeKind(StrEnum):
    """How a buy is sized."""

    QUANTITY = "quantity"  # a fixed number of units
    AMOUNT = "amount"  # a fixed amount of money
    EQUITY_PERCENT = "equity_percent"  # a percent of the bot's paper equity


@dataclass(frozen=True, slots=True)
class Costs:
    """A bot's costs and size, resolved (its own settings over the service's defaults)."""

    fee_percent: Decimal = ZERO
    fee_fixed: Decimal = ZERO
    slippage_bps: Decimal = ZERO
    stake_kind: StakeKind = StakeKind.QUANTITY
    stake: Decimal = ONE
    starting_balance: Decimal = Decimal(10_000)
    min_trade_amount: Decimal | None = None
    max_trade_amount: Decimal | None = None
    quantity_decimals: int = 0

    @property
    def quantity_step(self) -> Decimal:
        return ONE.scaleb(-self.quantity_decimals)

    @property
    def price_step(self) -> Decimal:
        return ONE.scaleb(-(MAX_PRICE_DECIMALS - self.quantity_decimals))


FREE = Costs()


@dataclass(frozen=True, slots=True)
class Fill:
    """One order as filled: units, the price paid or received, and the fee."""

    quantity: Decimal
    price: Decimal
    fee: Decimal

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


class OrderTooSmall(ValueError):
    """A buy the stake and limits leave nothing (or too little) to trade; the message says why."""


def _tidy(amount: Decimal) -> Decimal:
    """The same amount without trailing zeros (100, not 100.0000000000 nor 1E+2)."""
    return amount.quantize(ONE) if amount == amount.to_integral() else amount.normalize()


def fill_price(costs: Costs, side: Side, price: Decimal) -> Decimal:
    """`price` moved by the slippage against the trader, rounded against the trader."""
    if side is Side.BUY:
        moved = price * (_BASIS_POINTS + costs.slippage_bps) / _BASIS_POINTS
        return _tidy(moved.quantize(costs.price_step, rounding=ROUND_CEILING))
    moved = price * (_BASIS_POINTS - costs.slippage_bps) / _BASIS_POINTS
    return _tidy(max(moved.quantize(costs.price_step, rounding=ROUND_FLOOR), ZERO))


def fee(costs: Costs, notional: Decimal) -> Decimal:
    """What one order of `notional` pays: the percent of it plus the fixed fee, rounded up."""
    owed = notional * costs.fee_percent / _HUNDRED + costs.fee_fixed
    return _tidy(owed.quantize(_FEE_PLACES, rounding=ROUND_CEILING))


def equity(costs: Costs, realised: Decimal) -> Decimal:
    """A bot's paper equity: its starting balance plus what its closed trades made."""
    return costs.starting_balance + realised


def buy_fill(costs: Costs, price: Decimal, realised: Decimal = ZERO) -> Fill:
    """A buy at the read `price`, sized by the stake (`realised`: the bot's realised P&L,
    for a stake in percent of equity); OrderTooSmall when it trades nothing or less than
    the minimum amount."""
    filled = fill_price(costs, Side.BUY, price)
    if costs.stake_kind is StakeKind.QUANTITY:
        wanted = costs.stake
    else:
        money = costs.stake
        if costs.stake_kind is StakeKind.EQUITY_PERCENT:
            money = equity(costs, realised) * costs.stake / _HUNDRED
        wanted = money / filled if money > 0 else ZERO
    if costs.max_trade_amount is not None and wanted * filled > costs.max_trade_amount:
        wanted = costs.max_trade_amount / filled
    quantity = _tidy(wanted.quantize(costs.quantity_step, rounding=ROUND_FLOOR))
    if quantity <= 0:
        raise OrderTooSmall(
            f"the stake buys less than {costs.quantity_step} unit at {filled}; nothing bought"
        )
    notional = filled * quantity
    if costs.min_trade_amount is not None and notional < costs.min_trade_amount:
        raise OrderTooSmall(
            f"{quantity} at {filled} is {notional}, under the minimum trade amount "
            f"{costs.min_trade_amount}; nothing bought"
        )
    return Fill(quantity, filled, fee(costs, notional))


def sell_fill(costs: Costs, price: Decimal, quantity: Decimal) -> Fill:
    """A sell of the whole position (`quantity` units) at the read `price`."""
    filled = fill_price(costs, Side.SELL, price)
    return Fill(quantity, filled, fee(costs, filled * quantity))


def round_trip_profit(bought: Fill, sold: Fill) -> Decimal:
    """What a round trip made, net of both fees: exact."""
    return (sold.price - bought.price) * sold.quantity - bought.fee - sold.fee
