"""Parent orders: an order sliced above the freeze quantity stays one order for the strategy.

The broker sees each child (one freeze-legal order each, indian-market.md §3.3); the strategy
sees the parent: its id, its quantity, and a status and filled quantity gathered from the
children. The trade log and the audit trail keep every child.
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import (
    Order,
    OrderIntent,
    OrderSnapshot,
    OrderStatus,
)

__all__ = ["ParentOrder"]

# Which child state speaks for a parent still working: the earliest in an order's life.
_WORKING_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.TRIGGER_PENDING: 2,
    OrderStatus.OPEN: 3,
}


@dataclass(slots=True)
class ParentOrder:
    client_order_id: ClientOrderId
    intent: OrderIntent
    children: list[Order]
    created_ns: int

    def status(self) -> OrderStatus:
        """FILLED when every unit filled; while any child works, PENDING_* when one waits
        on a request, else PARTIALLY_FILLED once anything filled, else the earliest working
        state; when all ended short of filled: CANCELLED over EXPIRED over REJECTED."""
        kids = self.children
        filled = sum(c.filled_quantity for c in kids)
        working = [c for c in kids if not c.is_terminal]
        if not working:
            if filled == self.intent.quantity:
                return OrderStatus.FILLED
            ends = {c.status for c in kids}
            for end in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
                if end in ends:
                    return end
            return OrderStatus.FILLED  # unreachable: a child ends in one of the four
        for pending in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY):
            if any(c.status is pending for c in working):
                return pending
        if filled or any(c.status is OrderStatus.PARTIALLY_FILLED for c in working):
            return OrderStatus.PARTIALLY_FILLED
        return min((c.status for c in working), key=lambda s: _WORKING_RANK.get(s, 9))

    def snapshot(self) -> OrderSnapshot:
        kids = self.children
        first = kids[0]
        latest = max(kids, key=lambda c: c.updated_ns)
        reasons = [c.reason for c in kids if c.reason]
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            broker_order_id=None,  # each child has its own at the broker
            strategy_id=first.strategy_id,
            symbol=first.symbol,
            side=first.side,
            order_type=first.order_type,
            quantity=self.intent.quantity,
            price_paise=first.price_paise,
            trigger_price_paise=first.trigger_price_paise,
            product=first.product,
            validity=first.validity,
            status=self.status(),
            filled_quantity=sum(c.filled_quantity for c in kids),
            fill_value_paise=sum(c.fill_value_paise for c in kids),
            created_ns=self.created_ns,
            updated_ns=latest.updated_ns,
            reason=reasons[-1] if reasons else "",
        )

    @property
    def is_working(self) -> bool:
        return any(not c.is_terminal for c in self.children)
