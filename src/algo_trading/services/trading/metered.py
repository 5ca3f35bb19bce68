"""The trade log, counted: every order event and fill the engine records is also published as
a metric (orders by status, refusals by code, fills), so /metrics says what the database says."""

from __future__ import annotations

import re

from algo_trading.domain.fills import Fill
from algo_trading.domain.orders import Order, OrderEvent, OrderStatus
from algo_trading.engine.ports import TradeLog
from algo_trading.services.metrics import ServiceMetrics

__all__ = ["MeteredTradeLog"]

_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")


class MeteredTradeLog:
    """Implements `TradeLog` around another one; counts only what that one accepted."""

    def __init__(self, inner: TradeLog, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def record_order(self, order: Order, event: OrderEvent) -> None:
        self._inner.record_order(order, event)
        self._metrics.order_status(order.strategy_id, order.status.value)
        if event is OrderEvent.REJECT and order.status is OrderStatus.REJECTED:
            # A risk refusal's reason is "CODE: detail" (RiskDecision); a broker's is not.
            code, colon, _ = (order.reason or "").partition(":")
            if colon and _CODE.fullmatch(code):
                self._metrics.refusal(code, order.strategy_id)

    def record_fill(self, fill: Fill) -> None:
        self._inner.record_fill(fill)
        if fill.quantity > 0:
            self._metrics.fill(fill.strategy_id, fill.side.value, fill.quantity)
