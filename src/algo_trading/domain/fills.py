"""Fills: one execution of (part of) an order."""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import OrderSide, ProductType

__all__ = ["Fill"]


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
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def value_paise(self) -> int:
        return self.quantity * self.price_paise
