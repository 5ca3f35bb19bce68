"""While the feed is stale or the service drains, only orders that reduce a book go."""

from __future__ import annotations

import pytest

from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderSide, OrderType, ProductType
from algo_trading.services.trading.gate import ServiceGate


class View:
    def __init__(self, held: int) -> None:
        self.held = held

    def position_quantity(self, symbol: str) -> int:
        return self.held

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        return self.held

    def cash_paise(self) -> int:
        return 0

    def equity_paise(self) -> int:
        return 0

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        return 0


def _order(side: OrderSide, qty: int) -> Order:
    return Order(
        ClientOrderId("g1"),
        StrategyId("s"),
        "SBIN-EQ",
        side,
        qty,
        OrderType.MARKET,
        None,
        None,
        ProductType.INTRADAY,
    )


@pytest.mark.parametrize(
    ("stale", "draining", "side", "qty", "held", "code"),
    [
        (False, False, OrderSide.BUY, 5, 0, "OK"),
        (True, False, OrderSide.BUY, 5, 0, "FEED_STALE"),
        (True, False, OrderSide.SELL, 5, 5, "OK"),  # closes a long
        (True, False, OrderSide.SELL, 6, 5, "FEED_STALE"),  # would go short
        (False, True, OrderSide.BUY, 2, -2, "OK"),  # closes a short
        (False, True, OrderSide.BUY, 1, 0, "DRAINING"),
        (True, True, OrderSide.SELL, 1, 0, "DRAINING"),
    ],
)
def test_only_reducing_orders_pass_while_stale_or_draining(
    stale: bool, draining: bool, side: OrderSide, qty: int, held: int, code: str
) -> None:
    gate = ServiceGate()
    gate.bind(stale=lambda: stale, draining=lambda: draining)
    decision = gate.check(_order(side, qty), View(held))
    assert decision.code == code
    assert decision.allowed is (code == "OK")


def test_an_unbound_gate_allows_everything() -> None:
    assert ServiceGate().check(_order(OrderSide.BUY, 1), View(0)).allowed
