"""The fill model: slippage against the trader, fees, each stake kind, limits; exact P&L."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trade_analysis.domain import Side, Trend
from trade_analysis.trading.fills import (
    FREE,
    Costs,
    OrderTooSmall,
    StakeKind,
    buy_fill,
    fill_price,
    round_trip_profit,
    sell_fill,
)
from trade_analysis.trading.simulator import Position, Signal, decide

D = Decimal


def test_without_costs_an_order_is_one_unit_at_the_read_price_and_free() -> None:
    bought = buy_fill(FREE, D("189.23"))
    sold = sell_fill(FREE, D("190.5"), bought.quantity)
    assert (bought.quantity, bought.price, bought.fee) == (1, D("189.23"), 0)
    assert str(bought.price) == "189.23" and str(sold.price) == "190.5"
    assert round_trip_profit(bought, sold) == D("1.27")


def test_slippage_moves_buys_up_and_sells_down_by_basis_points() -> None:
    costs = Costs(slippage_bps=D(25))  # 0.25 %
    assert fill_price(costs, Side.BUY, D(200)) == D("200.5")
    assert fill_price(costs, Side.SELL, D(200)) == D("199.5")


def test_slippage_rounds_against_the_trader_to_what_the_ledger_keeps() -> None:
    costs = Costs(slippage_bps=D(1), quantity_decimals=4)  # prices to 6 decimals
    assert fill_price(costs, Side.BUY, D("1.234567")) == D("1.234691")  # 1.2346904567 up
    assert fill_price(costs, Side.SELL, D("1.234567")) == D("1.234443")  # 1.2344435433 down


def test_fee_is_a_percent_of_the_order_plus_a_fixed_amount() -> None:
    costs = Costs(fee_percent=D("0.1"), fee_fixed=D("0.5"), stake=D(10))
    bought = buy_fill(costs, D(50))
    assert bought.fee == D("1.0")  # 500 x 0.1 % + 0.5


@pytest.mark.parametrize(
    ("costs", "price", "quantity"),
    [
        (Costs(stake=D(7)), D(30), D(7)),
        (Costs(stake_kind=StakeKind.AMOUNT, stake=D(1000)), D(30), D(33)),
        (Costs(stake_kind=StakeKind.AMOUNT, stake=D(1000), quantity_decimals=2), D(30), D("33.33")),
        (
            Costs(stake_kind=StakeKind.EQUITY_PERCENT, stake=D(25), starting_balance=D(4000)),
            D(30),
            D(33),
        ),
        (Costs(stake_kind=StakeKind.AMOUNT, stake=D(1000), max_trade_amount=D(500)), D(30), D(16)),
    ],
    ids=["quantity", "amount", "fractional amount", "equity percent", "capped by max amount"],
)
def test_each_stake_kind_sizes_a_buy(costs: Costs, price: Decimal, quantity: Decimal) -> None:
    assert buy_fill(costs, price).quantity == quantity


def test_equity_grows_with_realised_profit() -> None:
    costs = Costs(stake_kind=StakeKind.EQUITY_PERCENT, stake=D(50), starting_balance=D(1000))
    assert buy_fill(costs, D(10)).quantity == 50
    assert buy_fill(costs, D(10), realised=D(100)).quantity == 55


def test_a_buy_under_the_minimum_or_of_no_whole_unit_is_refused() -> None:
    with pytest.raises(OrderTooSmall, match="under the minimum trade amount"):
        buy_fill(Costs(stake=D(2), min_trade_amount=D(100)), D(30))
    with pytest.raises(OrderTooSmall, match="less than 1 unit"):
        buy_fill(Costs(stake_kind=StakeKind.AMOUNT, stake=D(20)), D(30))


def test_a_refused_buy_leaves_the_position_flat_and_trades_nothing() -> None:
    costs = Costs(stake_kind=StakeKind.AMOUNT, stake=D(5))
    signal = Signal("bot", "AAPL", D(30), Trend.UP, datetime(2026, 3, 2, 15, tzinfo=UTC))
    position, trade = decide(Position("bot", "AAPL"), signal, costs=costs)
    assert trade is None and not position.is_long and position.last_price == 30


def test_the_simulator_sells_what_it_bought_and_books_the_net_profit() -> None:
    costs = Costs(fee_fixed=D(1), slippage_bps=D(10), stake=D(10))
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    position, buy = decide(
        Position("bot", "MSFT"), Signal("bot", "MSFT", D(100), Trend.UP, at), costs=costs
    )
    later = at + timedelta(minutes=1)
    position, sell = decide(position, Signal("bot", "MSFT", D(110), Trend.DOWN, later), costs=costs)
    assert buy is not None and sell is not None
    assert (buy.quantity, buy.fill_price, buy.fee) == (10, D("100.1"), 1)
    assert (sell.quantity, sell.fill_price, sell.fee) == (10, D("109.89"), 1)
    assert sell.profit == D("95.9")  # (109.89 - 100.1) x 10 - 1 - 1


prices = st.decimals(min_value=D("0.0001"), max_value=D(100_000), places=4)
stake_costs = st.builds(
    Costs,
    fee_percent=st.decimals(min_value=0, max_value=D(5), places=3),
    fee_fixed=st.decimals(min_value=0, max_value=D(20), places=2),
    slippage_bps=st.decimals(min_value=0, max_value=D(500), places=2),
    stake_kind=st.sampled_from(StakeKind),
    stake=st.decimals(min_value=D(1), max_value=D(100), places=2),
    starting_balance=st.decimals(min_value=D(100), max_value=D(10_000_000), places=2),
    quantity_decimals=st.integers(min_value=0, max_value=8),
)


@settings(max_examples=300, deadline=None)
@given(costs=stake_costs, buy_price=prices, sell_price=prices)
def test_a_round_trip_makes_exactly_the_fill_difference_times_quantity_less_fees(
    costs: Costs, buy_price: Decimal, sell_price: Decimal
) -> None:
    try:
        bought = buy_fill(costs, buy_price)
    except OrderTooSmall:
        return
    sold = sell_fill(costs, sell_price, bought.quantity)
    profit = round_trip_profit(bought, sold)
    assert profit == (sold.price - bought.price) * bought.quantity - bought.fee - sold.fee
    # Every amount fits the ledger's 10 decimals, so storing it keeps it exact.
    for amount in (bought.price, sold.price, bought.fee, sold.fee, profit):
        assert amount == amount.quantize(D("1e-10"))
    # Costs only ever cost: never better than the read prices, free of fees.
    assert bought.price >= buy_price and sold.price <= sell_price
    assert profit <= (sell_price - buy_price) * bought.quantity
    assert bought.quantity > 0 and bought.quantity == bought.quantity.quantize(costs.quantity_step)
