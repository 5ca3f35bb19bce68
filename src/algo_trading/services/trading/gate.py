"""The service's own pre-trade check: while the feed is stale or the service drains, an order
that adds exposure is refused with a stable code (FEED_STALE, DRAINING); one that only reduces
a book (a square-off, a stop) still goes. The loop already stops calling strategies then; this
holds every other source of orders (commands from the dashboard) to the same rule."""

from __future__ import annotations

from collections.abc import Callable

from algo_trading.domain.orders import Order, OrderSide
from algo_trading.engine.risk import ALLOW, RiskDecision, RiskView

__all__ = ["ServiceGate"]


def _never() -> bool:
    return False


class ServiceGate:
    """Implements `RiskCheck`; `bind` tells it where to look once the service exists."""

    def __init__(self) -> None:
        self._stale: Callable[[], bool] = _never
        self._draining: Callable[[], bool] = _never

    def bind(self, *, stale: Callable[[], bool], draining: Callable[[], bool]) -> None:
        self._stale = stale
        self._draining = draining

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        draining, stale = self._draining(), self._stale()
        if not (draining or stale):
            return ALLOW
        held = view.book_quantity(order.strategy_id, order.symbol, order.product)
        reducing = (order.side is OrderSide.BUY and held < 0 and order.quantity <= -held) or (
            order.side is OrderSide.SELL and held > 0 and order.quantity <= held
        )
        if reducing:
            return ALLOW
        code = "DRAINING" if draining else "FEED_STALE"
        why = "the service is stopping" if draining else "the market feed is stale"
        return RiskDecision(
            False,
            code,
            f"{order.side.value} {order.quantity} {order.symbol}: {why}; only orders that "
            f"reduce the book go (position {held})",
        )
