"""The order manager: intent -> slicing -> risk -> throttle -> log -> broker, and broker
reports -> lifecycle.

Every order is written to the trade log (in paper and live: committed to the database) before
the broker hears of it, and every report moves it only through the lifecycle table. Every
decision on the way is an audit record (SEBI retail-algo audit trail, indian-market.md §5.1);
every order carries its strategy's tag; the throttle holds orders and cancels beyond the
orders-per-second limit instead of dropping them (§5).
"""

from __future__ import annotations

from collections import deque

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
from algo_trading.engine.ports import (
    Broker,
    ChargesModel,
    Clock,
    IdGenerator,
    OrderAuditLog,
    TradeLog,
)
from algo_trading.engine.risk import RiskCheck, RiskDecision, RiskView
from algo_trading.market.audit import AuditStage, audit_order, order_tag
from algo_trading.market.lots import slice_order
from algo_trading.market.throttle import OrderThrottle

__all__ = ["NoCharges", "OrderManager", "SequentialIds"]

_FILL_EVENTS = (OrderEvent.FILL, OrderEvent.PARTIAL_FILL)
_ACKS = (OrderEvent.ACCEPT, OrderEvent.ACCEPT_TRIGGER_PENDING)
_SUBMIT, _CANCEL = "submit", "cancel"


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
        "_audit_log",
        "_broker",
        "_charges",
        "_clock",
        "_ids",
        "_log",
        "_risk",
        "_seen_trades",
        "_throttle",
        "_trade_n",
        "held",
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
        throttle: OrderThrottle | None = None,
        audit: OrderAuditLog | None = None,
    ) -> None:
        self._broker = broker
        self._throttle = throttle
        self._audit_log = audit
        # (send time, client order id, action) waiting for the throttle, oldest first
        self.held: deque[tuple[ClientOrderId, str]] = deque()
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
        freeze_quantity: int | None = None,
        lot_size: int = 1,
    ) -> list[Order]:
        """Build the order, run the risk check, pass the throttle, write it down, then send
        it. A refused order comes back REJECTED with the decision as its reason and never
        reaches the broker. Above `freeze_quantity` the order is sliced into legal children
        first (each checked and sent on its own), so the list may hold several."""
        now = self._clock.now_ns()
        sizes, refusal = [quantity], ""
        if freeze_quantity is not None and quantity > freeze_quantity:
            try:
                sizes = slice_order(quantity, lot_size, freeze_quantity, where=symbol)
            except OrderError as exc:  # not whole lots: refused below, like a risk refusal
                refusal = f"LOT_SIZE: {exc}"
        made = []
        parent: ClientOrderId | None = None
        for size in sizes:
            order = self._new_order(
                strategy_id,
                symbol,
                side,
                size,
                order_type,
                price_paise,
                trigger_price_paise,
                product,
                validity,
                now,
            )
            if len(sizes) > 1:
                parent = parent or order.client_order_id
                self._audit(
                    order,
                    AuditStage.SLICE,
                    "SLICED",
                    now,
                    {"parent_quantity": quantity, "freeze_quantity": freeze_quantity or 0},
                    parent=parent,
                )
            decision = self._risk.check(order, view) if not refusal else _refused(refusal)
            if not decision.allowed:
                order.apply(OrderEvent.REJECT, now, str(decision))
                self._log.record_order(order, OrderEvent.REJECT)
                self._audit(order, AuditStage.RISK, decision.code, now, detail=decision.detail)
            else:
                self._audit(order, AuditStage.RISK, decision.code, now)
                self._send_when_allowed(order, now)
            made.append(order)
        return made

    def _new_order(
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
        now: int,
    ) -> Order:
        coid = self._ids.next_id()
        if coid in self.orders:
            raise OrderError(f"client order id {coid} was issued twice")
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
        order.tag = order_tag(strategy_id, coid)
        self.orders[coid] = order
        self._audit(order, AuditStage.INTENT, "ORDER_REQUESTED", now)
        return order

    def _may_send(self, now: int) -> bool:
        """Whether one more order action may go now; it is counted if so. Counted at the
        real send time, so a late wake-up can never bunch sends into one window."""
        if self._throttle is None:
            return True
        if self._throttle.next_slot(now) > now:
            return False
        self._throttle.admit(now)
        return True

    def _hold(self, order: Order, action: str, now: int) -> None:
        self.held.append((order.client_order_id, action))
        send_at = self._throttle.next_slot(now) if self._throttle is not None else now
        self._audit(order, AuditStage.THROTTLE, "THROTTLED", now, {"send_at_ns": send_at})

    def next_release_ns(self, now: int) -> int | None:
        """When the first held action may go (for a live engine's timer); None if none wait."""
        if not self.held:
            return None
        return self._throttle.next_slot(now) if self._throttle is not None else now

    def _send_when_allowed(self, order: Order, now: int) -> None:
        if self.held or not self._may_send(now):  # never overtake an action already waiting
            self._hold(order, _SUBMIT, now)
            return
        self._submit(order, now)

    def _submit(self, order: Order, now: int) -> None:
        order.apply(OrderEvent.SUBMIT, now)
        self._log.record_order(order, OrderEvent.SUBMIT)  # intent before action
        self._audit(order, AuditStage.SUBMIT, "SENT", now)
        self.working[order.client_order_id] = order
        self._broker.submit(order.snapshot())

    def release(self, now: int) -> None:
        """Send held orders and cancels, oldest first, as far as the throttle allows now."""
        held = self.held
        while held:
            coid, action = held[0]
            order = self.orders[coid]
            if (action == _SUBMIT and order.status is not OrderStatus.NEW) or (
                action == _CANCEL and not order.is_working
            ):
                held.popleft()  # withdrawn, or already done: nothing to send
                continue
            if not self._may_send(now):
                return
            held.popleft()
            if action == _SUBMIT:
                self._submit(order, now)
            else:
                self._audit(order, AuditStage.CANCEL, "CANCEL_SENT", now)
                self._broker.cancel(coid)

    def open_orders(self) -> list[Order]:
        """Orders not yet done: working at the broker, or held by the throttle."""
        held = [self.orders[coid] for coid, action in self.held if action == _SUBMIT]
        return [*self.working.values(), *(o for o in held if o.status is OrderStatus.NEW)]

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Ask the broker to cancel a working order (through the throttle: a cancel is an
        order action too); an order still held by the throttle is simply never sent."""
        now = self._clock.now_ns()
        order = self.orders.get(client_order_id)
        if order is None:
            return
        if order.status is OrderStatus.NEW:
            order.apply(OrderEvent.CANCEL, now, "CANCELLED_BEFORE_SEND")
            self._log.record_order(order, OrderEvent.CANCEL)
            self._audit(order, AuditStage.CANCEL, "CANCELLED_BEFORE_SEND", now)
            return
        if not order.is_working:
            return
        if self.held or not self._may_send(now):
            self._hold(order, _CANCEL, now)
            return
        self._audit(order, AuditStage.CANCEL, "CANCEL_SENT", now)
        self._broker.cancel(client_order_id)

    def _audit(
        self,
        order: Order,
        stage: AuditStage,
        code: str,
        now: int,
        numbers: dict[str, int] | None = None,
        detail: str = "",
        parent: ClientOrderId | None = None,
    ) -> None:
        if self._audit_log is None:
            return
        self._audit_log.record(
            audit_order(
                order,
                now,
                stage,
                code,
                numbers=numbers,
                detail=detail,
                parent_client_order_id=parent,
            )
        )

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


def _refused(text: str) -> RiskDecision:
    code, _, detail = text.partition(": ")
    return RiskDecision(False, code, detail)


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
