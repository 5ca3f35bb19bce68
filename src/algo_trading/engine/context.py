"""The strategy's view of the engine: what `strategy.context.StrategyContext` promises, bound
to one strategy. Reads return values and frozen snapshots; orders are that strategy's only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from algo_trading.domain.errors import OrderError
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderIntent, OrderSnapshot, ProductType
from algo_trading.domain.positions import Position, PositionSnapshot
from algo_trading.engine.order_manager import OrderChange

if TYPE_CHECKING:  # the engine builds these views; a view never builds an engine
    from algo_trading.engine.engine import TradingEngine

__all__ = ["StrategyView"]


class StrategyView:
    """Implements `StrategyContext` for one strategy of a `TradingEngine`."""

    __slots__ = ("_engine", "_net", "_sid")

    def __init__(self, engine: TradingEngine, strategy_id: str) -> None:
        self._engine = engine
        self._sid = strategy_id
        self._net = engine.portfolio.net_of(strategy_id)

    @property
    def strategy_id(self) -> str:
        return self._sid

    def now_ns(self) -> int:
        return self._engine.clock.now_ns()

    def position_quantity(self, symbol: str) -> int:
        return self._net.get(symbol, 0)

    def book_quantity(self, symbol: str, product: ProductType) -> int:
        return self._engine.book_quantity(self._sid, symbol, product)

    def position(self, symbol: str, product: ProductType) -> PositionSnapshot:
        engine = self._engine
        pos = engine.portfolio.books.get(engine.book_key(self._sid, symbol, product))
        return (pos if pos is not None else Position(symbol)).snapshot()

    def cash_paise(self) -> int:
        return self._engine.portfolio.cash

    def equity_paise(self) -> int:
        return self._engine.portfolio.equity()

    def instrument(self, symbol: str) -> Instrument:
        return self._engine.instrument(symbol)

    def submit_order(self, intent: OrderIntent) -> ClientOrderId:
        if intent.strategy_id != self._sid:
            raise OrderError(
                f"strategy {self._sid}: an order for strategy {intent.strategy_id!r} refused"
            )
        return self._engine.submit(intent)

    def cancel_order(self, client_order_id: ClientOrderId) -> None:
        if self._owns(client_order_id):
            self._engine.orders.cancel(client_order_id)

    def modify_order(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> str:
        if not self._owns(client_order_id):
            return "UNKNOWN_ORDER"
        change = OrderChange(quantity, price_paise, trigger_price_paise)
        return self._engine.modify(client_order_id, change)

    def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        orders = self._engine.orders
        if not orders.working and not orders.held:
            return []  # the common case when a strategy decides: nothing is open
        return self._engine.open_order_snapshots(self._sid, symbol)

    def _owns(self, client_order_id: ClientOrderId) -> bool:
        kids = self._engine.orders.children_of(client_order_id)
        return bool(kids) and kids[0].strategy_id == self._sid
