"""The order manager: intent -> risk -> log -> broker, and broker reports -> lifecycle.

Every order is written to the trade log (in paper and live: committed to the database) before
the broker hears of it, and every report moves it only through the lifecycle table.
"""

from __future__ import annotations

from algo_trading.domain.errors import OrderError
from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import BrokerOrderId, ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import (
    Order,
    OrderEvent,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
    Validity,
)
from algo_trading.engine.ports import Broker, ChargesModel, Clock, IdGenerator, TradeLog
from algo_trading.engine.risk import RiskCheck, RiskView

__all__ = ["NoCharges", "OrderManager", "SequentialIds"]

_FILL_EVENTS = (OrderEvent.FILL, OrderEvent.PARTIAL_FILL)
_ACKS = (OrderEvent.ACCEPT, OrderEvent.ACCEPT_TRIGGER_PENDING)


class SequentialIds:
    """Client order ids `PREFIX000001`, … (unique within one process: backtests, tests)."""

    __slots__ = ("_n", "_prefix")

    def __init__(self, prefix: str = "O") -> None:
        self._prefix = prefix
        self._n = 0

    def next_id(self) -> ClientOrderId:
        self._n += 1
        return ClientOrderId(f"{self._prefix}{self._n:06d}")


class NoCharges:
    def charges_paise(self, fill: Fill, order: Order) -> int:
        return 0


class OrderManager:
    __slots__ = (
        "_broker",
        "_charges",
        "_clock",
        "_ids",
        "_log",
        "_risk",
        "_seen_trades",
        "_trade_n",
        "orders",
        "working",
    )

    def __init__(
        self,
        broker: Broker,
        clock: Clock,
        ids: IdGenerator,
        risk: RiskCheck,
        log: TradeLog,
        charges: ChargesModel,
    ) -> None:
        self._broker = broker
        self._clock = clock
        self._ids = ids
        self._risk = risk
        self._log = log
        self._charges = charges
        self._seen_trades: set[str] = set()
        self._trade_n = 0
        self.orders: dict[ClientOrderId, Order] = {}
        self.working: dict[ClientOrderId, Order] = {}

    def create(
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
        view: RiskView,
    ) -> Order:
        """Build the order, run the risk check, write it down, then send it. A refused order
        is returned REJECTED with the decision as its reason; it never reaches the broker."""
        coid = self._ids.next_id()
        if coid in self.orders:
            raise OrderError(f"client order id {coid} was issued twice")
        now = self._clock.now_ns()
        order = Order(
            coid,
            StrategyId(strategy_id),
            symbol,
            side,
            quantity,
            order_type,
            price_paise,
            trigger_price_paise,
            product,
            validity,
            now,
        )
        self.orders[coid] = order
        decision = self._risk.check(order, view)
        if not decision.allowed:
            order.apply(OrderEvent.REJECT, now, str(decision))
            self._log.record_order(order, OrderEvent.REJECT)
            return order
        order.apply(OrderEvent.SUBMIT, now)
        self._log.record_order(order, OrderEvent.SUBMIT)  # intent before action
        self.working[coid] = order
        self._broker.submit(order.snapshot())
        return order

    def cancel(self, client_order_id: ClientOrderId) -> None:
        order = self.working.get(client_order_id)
        if order is not None:
            self._broker.cancel(client_order_id)

    def apply(self, report: ExecutionReport) -> tuple[Order, Fill | None] | None:
        """Apply a broker report. Returns the order and the fill it produced, or None for a
        report that changes nothing (a duplicate trade, an acknowledgement overtaken by a fill)."""
        order = self.orders.get(ClientOrderId(report.client_order_id))
        if order is None:
            raise OrderError(
                f"report {report.event.value} for unknown order {report.client_order_id}"
            )
        if report.broker_order_id and order.broker_order_id is None:
            order.broker_order_id = BrokerOrderId(report.broker_order_id)
        event = report.event
        if event in _ACKS and (order.is_terminal or order.status is OrderStatus.PARTIALLY_FILLED):
            # The fill, or our cancel, got here first (see the lifecycle table): the
            # acknowledgement tells us nothing new.
            return None
        fill = None
        if event in _FILL_EVENTS:
            if report.trade_id:
                if report.trade_id in self._seen_trades:
                    return None
                self._seen_trades.add(report.trade_id)
            order.apply_fill(report.fill_quantity, report.fill_price_paise, report.ts_ns)
            self._trade_n += 1
            raw = Fill(
                trade_id=TradeId(report.trade_id or f"{order.client_order_id}-{self._trade_n}"),
                client_order_id=order.client_order_id,
                strategy_id=order.strategy_id,
                symbol=order.symbol,
                side=order.side,
                quantity=report.fill_quantity,
                price_paise=report.fill_price_paise,
                ts_ns=report.ts_ns,
                product=order.product,
            )
            charges = self._charges.charges_paise(raw, order)
            fill = raw if charges == 0 else _with_charges(raw, charges)
            self._log.record_fill(fill)
            event = (
                OrderEvent.FILL if order.status is OrderStatus.FILLED else OrderEvent.PARTIAL_FILL
            )
        else:
            order.apply(event, report.ts_ns, report.reason)
        self._log.record_order(order, event)
        if order.is_terminal:
            self.working.pop(order.client_order_id, None)
        return order, fill


def _with_charges(fill: Fill, charges_paise: int) -> Fill:
    return Fill(
        fill.trade_id,
        fill.client_order_id,
        fill.strategy_id,
        fill.symbol,
        fill.side,
        fill.quantity,
        fill.price_paise,
        fill.ts_ns,
        fill.product,
        charges_paise,
    )
