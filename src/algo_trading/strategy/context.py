"""What a strategy may see and ask, whatever the mode: the engine hands each strategy its own
object implementing this Protocol, never itself (STYLE 14). Everything it returns is a value or
a frozen snapshot; every order it takes is an `OrderIntent` of that strategy."""

from __future__ import annotations

from typing import Protocol

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderIntent, OrderSnapshot, ProductType
from algo_trading.domain.positions import PositionSnapshot

__all__ = ["StrategyContext"]


class StrategyContext(Protocol):
    @property
    def strategy_id(self) -> str:
        """The strategy this context speaks for; its orders carry this id."""
        ...

    def now_ns(self) -> int:
        """The engine clock: the bar's open time in a backtest, the wall clock live."""
        ...

    def position_quantity(self, symbol: str) -> int:
        """This strategy's net quantity in `symbol` over its products (cheap; every bar)."""
        ...

    def book_quantity(self, symbol: str, product: ProductType) -> int:
        """This strategy's quantity in one book: `symbol` under `product`."""
        ...

    def position(self, symbol: str, product: ProductType) -> PositionSnapshot:
        """A frozen copy of one of this strategy's books."""
        ...

    def cash_paise(self) -> int: ...

    def equity_paise(self) -> int:
        """Cash plus open positions at their last price."""
        ...

    def instrument(self, symbol: str) -> Instrument: ...

    def submit_order(self, intent: OrderIntent) -> ClientOrderId:
        """Check and send an order; a refusal comes back as a REJECTED update. An order
        above the freeze quantity goes as several children under the one id returned."""
        ...

    def cancel_order(self, client_order_id: ClientOrderId) -> None:
        """Cancel it (every child of a sliced order)."""
        ...

    def modify_order(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> str:
        """Ask for new terms (on every child of a sliced order); "" when asked, else the
        stable code of the refusal."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """This strategy's orders not yet done (a sliced order once, as its parent)."""
        ...
