"""A broker whose books a test writes, and a notifier that keeps alerts: for the recovery and
resilience hooks' tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderSnapshot, OrderStatus, ProductType
from algo_trading.engine.ports import Alert, ReportSink
from algo_trading.engine.reconciliation import BrokerOrder, BrokerTrade, CancelAction

__all__ = ["Alerts", "BookBroker"]


class BookBroker:
    """A broker whose order book, trade book and positions the test sets."""

    def __init__(self) -> None:
        self.orders: list[BrokerOrder] = []
        self.trades: list[BrokerTrade] = []
        self.positions: dict[tuple[str, ProductType], tuple[int, int]] = {}
        self.followed: dict[str, tuple[OrderStatus, int, frozenset[str]]] = {}
        self.cancelled: list[str] = []
        self.submitted: list[str] = []

    def connect(self, sink: ReportSink) -> None:
        self.sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        self.submitted.append(order.client_order_id)

    def cancel(self, client_order_id: ClientOrderId) -> None:
        return None

    def books(self) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        return list(self.orders), list(self.trades)

    def follow(self, order: OrderSnapshot, *, sent_ns: int, trade_ids: Iterable[str] = ()) -> None:
        self.followed[order.client_order_id] = (order.status, sent_ns, frozenset(trade_ids))

    def execute(self, actions: Sequence[CancelAction]) -> None:
        self.cancelled.extend(a.broker_order_id for a in actions)

    def read_positions(self) -> Mapping[tuple[str, ProductType], tuple[int, int]]:
        return dict(self.positions)


class Alerts:
    def __init__(self) -> None:
        self.items: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.items.append(alert)

    def codes(self) -> list[str]:
        return [a.code for a in self.items]
