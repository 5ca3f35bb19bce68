"""The simulated broker's placement check on its own: F&O, where the margin's basis differs,
and market orders, judged at the last price the venue has seen."""

from __future__ import annotations

import datetime as dt

from algo_trading.adapters.brokers.simulated.funds import BuyingPower
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import (
    Exchange,
    Instrument,
    InstrumentType,
    OptionRight,
    equity,
)
from algo_trading.domain.orders import OrderSide, ProductType
from algo_trading.market.margins import ANGEL_ONE_MARGINS
from tests.support.builders import make_order

STOCK = equity("SBIN-EQ")
CALL = Instrument(
    "NIFTY24JAN21000CE",
    Exchange.NFO,
    InstrumentToken("2"),
    InstrumentType.OPTION,
    lot_size=25,
    expiry=dt.date(2024, 1, 25),
    strike_paise=2_100_000,
    option_right=OptionRight.CALL,
)


def _power(cash: int, marks: dict[str, int] | None = None) -> BuyingPower:
    return BuyingPower(ANGEL_ONE_MARGINS, lambda: cash, marks or {})


def test_a_long_option_pays_its_premium_and_a_short_one_margin_on_its_strike() -> None:
    power = _power(100_000_00)
    premium = make_order(
        "B1", symbol=CALL.symbol, quantity=25, price_paise=5_000, product=ProductType.CARRYFORWARD
    )
    short = make_order(
        "S1",
        symbol=CALL.symbol,
        side=OrderSide.SELL,
        quantity=25,
        price_paise=5_000,
        product=ProductType.CARRYFORWARD,
    )

    assert power.refusal(premium.snapshot(), CALL) == ""
    assert power.free_paise() == 100_000_00 - 25 * 5_000
    # 25 x ₹21,000 x 15 % = ₹78,750 of the ₹98,750 left
    assert power.refusal(short.snapshot(), CALL) == ""
    assert power.free_paise() == 100_000_00 - 25 * 5_000 - 25 * 2_100_000 * 15 // 100
    again = make_order(
        "S2",
        symbol=CALL.symbol,
        side=OrderSide.SELL,
        quantity=25,
        price_paise=5_000,
        product=ProductType.CARRYFORWARD,
    )
    assert power.refusal(again.snapshot(), CALL).startswith("INSUFFICIENT_FUNDS: SELL 25")


def test_a_market_order_is_judged_at_the_last_price_seen_and_let_through_before_any() -> None:
    order = make_order("B1", quantity=10, product=ProductType.DELIVERY)

    assert _power(0).refusal(order.snapshot(), STOCK) == ""  # no price seen: cannot judge
    refusal = _power(99_999, {order.symbol: 10_000}).refusal(order.snapshot(), STOCK)
    assert refusal.startswith("INSUFFICIENT_FUNDS: BUY 10")
    assert _power(100_000, {order.symbol: 10_000}).refusal(order.snapshot(), STOCK) == ""
