"""Fills: one execution of (part of) an order."""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain._build import twin
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import OrderSide, ProductType

__all__ = ["Fill", "new_fill"]

_BUY = OrderSide.BUY  # read once: an enum member is a slow lookup in a function


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution: `quantity` units at `price_paise`, charges in paise when known."""

    trade_id: TradeId
    client_order_id: ClientOrderId
    strategy_id: StrategyId
    symbol: str
    side: OrderSide
    quantity: int
    price_paise: int
    ts_ns: int
    product: ProductType = ProductType.INTRADAY
    charges_paise: int = 0

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.side is _BUY else -self.quantity

    @property
    def value_paise(self) -> int:
        return self.quantity * self.price_paise


_FillTwin = twin(Fill)


def new_fill(
    trade_id: TradeId,
    client_order_id: ClientOrderId,
    strategy_id: StrategyId,
    symbol: str,
    side: OrderSide,
    quantity: int,
    price_paise: int,
    ts_ns: int,
    product: ProductType = ProductType.INTRADAY,
    charges_paise: int = 0,
) -> Fill:
    """`Fill(...)` at a third of the cost, for the engine's fill path (see `domain._build`)."""
    f = _FillTwin()
    f.trade_id = trade_id
    f.client_order_id = client_order_id
    f.strategy_id = strategy_id
    f.symbol = symbol
    f.side = side
    f.quantity = quantity
    f.price_paise = price_paise
    f.ts_ns = ts_ns
    f.product = product
    f.charges_paise = charges_paise
    f.__class__ = Fill
    fill: Fill = f
    return fill
