"""What a strategy may see and ask, whatever the mode: the engine implements this Protocol."""

from __future__ import annotations

from typing import Protocol

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderSide, OrderSnapshot, OrderType, ProductType, Validity
from algo_trading.domain.positions import PositionSnapshot

__all__ = ["StrategyContext"]


class StrategyContext(Protocol):
    def now_ns(self) -> int:
        """The engine clock: the bar's open time in a backtest, the wall clock live."""
        ...

    def position_quantity(self, symbol: str) -> int:
        """Net quantity held in `symbol` (cheap; for every-bar use)."""
        ...

    def position(self, symbol: str) -> PositionSnapshot: ...

    def cash_paise(self) -> int: ...

    def equity_paise(self) -> int:
        """Cash plus open positions at their last price."""
        ...

    def instrument(self, symbol: str) -> Instrument: ...

    def submit_order(
        self,
        strategy_id: str,
        symbol: str,
        side: OrderSide,
        quantity: int,
        order_type: OrderType,
        price_paise: int | None,
        trigger_price_paise: int | None,
        product: ProductType,
        validity: Validity,
    ) -> ClientOrderId:
        """Build, check and send an order; a refusal comes back as a REJECTED update."""
        ...

    def cancel_order(self, client_order_id: ClientOrderId) -> None: ...

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[OrderSnapshot]:
        """This strategy's working orders (submitted, open, trigger pending, partly filled)."""
        ...
