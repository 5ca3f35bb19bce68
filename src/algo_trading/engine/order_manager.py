"""The order manager: intent -> slicing -> risk -> throttle -> log -> sender, and broker
reports -> lifecycle.

Every order is written to the trade log (in paper and live: committed to the database) before
the broker hears of it, and every report moves it only through the lifecycle table. Every
decision on the way is an audit record (SEBI retail-algo audit trail, indian-market.md §5.1);
every order carries its strategy's tag; the throttle holds orders, cancels and changes beyond
the orders-per-second limit instead of dropping them (§5).

A broker report never raises out of here: one the books cannot take (an overfill, a state the
table forbids, a trade log that failed) is kept as an incident, and its order goes into
quarantine: its state is kept, new orders of its strategy in its symbol are refused with
QUARANTINED until reconciliation resolves it (`resolve_quarantine`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from algo_trading.domain.errors import OrderError
from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.fills import Fill, new_fill
from algo_trading.domain.ids import (
    CLIENT_ORDER_ID_MAX_LEN,
    ClientOrderId,
    check_client_order_id,
)
from algo_trading.domain.orders import (
    RESUMING,
    TERMINAL_STATES,
    TRANSITIONS,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
)
from algo_trading.engine.parents import ParentOrder
from algo_trading.engine.ports import (
    ChargesModel,
    Clock,
    IdGenerator,
    OrderAuditLog,
    OrderSender,
    TradeLog,
)
from algo_trading.engine.risk import RiskCheck, RiskDecision, RiskView
from algo_trading.market.audit import AuditStage, audit_order, order_tag
from algo_trading.market.lots import slice_order
from algo_trading.market.throttle import OrderThrottle

__all__ = ["NoCharges", "OrderChange", "OrderManager", "ReportIncident", "SequentialIds"]

_ACKS = (OrderEvent.ACCEPT, OrderEvent.ACCEPT_TRIGGER_PENDING)
# News that may arrive after what it announces was overtaken (an acknowledgement after the
# fill, a trigger after the stop filled, an answer to a request already settled): applied
# where the table has a row, otherwise it changes nothing.
_MAYBE_STALE = frozenset(
    {
        *_ACKS,
        OrderEvent.TRIGGER,
        OrderEvent.MODIFY,
        OrderEvent.MODIFY_REJECT,
        OrderEvent.CANCEL_REJECT,
    }
)
# The broker repeating how an order ended (a replayed stream) changes nothing either.
_ENDED_BY = {
    OrderStatus.CANCELLED: OrderEvent.CANCEL,
    OrderStatus.REJECTED: OrderEvent.REJECT,
    OrderStatus.EXPIRED: OrderEvent.EXPIRE,
}
# Answers to a change we asked for: they settle it (`_settle_change`) before they apply.
_SETTLES = frozenset({OrderEvent.MODIFY, OrderEvent.MODIFY_REJECT})
_SUBMIT, _CANCEL, _MODIFY = "submit", "cancel", "modify"
# Enum members read once: `OrderSide.BUY` in a function is a lookup through the enum's
# metaclass each time (about ten times a global's cost), on every order.
_EV_SUBMIT, _EV_FILL, _EV_PARTIAL_FILL = OrderEvent.SUBMIT, OrderEvent.FILL, OrderEvent.PARTIAL_FILL
_EV_MODIFY, _EV_MODIFY_REJECT = OrderEvent.MODIFY, OrderEvent.MODIFY_REJECT
_NEW, _PENDING_CANCEL = OrderStatus.NEW, OrderStatus.PENDING_CANCEL
_EV_REJECT, _EV_CANCEL = OrderEvent.REJECT, OrderEvent.CANCEL
_EV_CANCEL_REQUEST, _EV_MODIFY_REQUEST = OrderEvent.CANCEL_REQUEST, OrderEvent.MODIFY_REQUEST
_MODIFIABLE = frozenset(
    {
        OrderStatus.OPEN,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_MODIFY,
    }
)


class SequentialIds:
    """Client order ids `PREFIX000001`, … (unique within one process: backtests, tests)."""

    __slots__ = ("_n", "_prefix", "issues_checked_ids")

    def __init__(self, prefix: str = "O") -> None:
        self._prefix = prefix
        self._n = 0
        # Whether every id it issues passes `check_client_order_id`: a prefix that passes,
        # short enough that digits never take the id past the column's width. The order
        # manager then skips the check (a regular expression per order); else it checks.
        try:
            check_client_order_id(f"{prefix}{0:06d}")
        except OrderError:
            self.issues_checked_ids = False
        else:
            self.issues_checked_ids = len(prefix) <= CLIENT_ORDER_ID_MAX_LEN - 24

    def next_id(self) -> ClientOrderId:
        self._n += 1
        # NewTypes are identities; their call is not free, and this runs for every order
        return f"{self._prefix}{self._n:06d}"  # type: ignore[return-value]


class NoCharges:
    def charges_paise(self, fill: Fill, order: Order) -> int:
        return 0


@dataclass(frozen=True, slots=True)
class OrderChange:
    """New terms asked for a working order; None keeps a term as it is."""

    quantity: int | None = None
    price_paise: int | None = None
    trigger_price_paise: int | None = None


@dataclass(frozen=True, slots=True)
class ReportIncident:
    """A broker report the books could not take, kept for the service to log and for
    reconciliation to resolve. `client_order_id` is quarantined unless the order is unknown."""

    report: ExecutionReport
    code: str  # UNKNOWN_ORDER, REFUSED_REPORT, TRADE_LOG_FAILED
    detail: str
    strategy_id: str = ""
    symbol: str = ""


class OrderManager:
    __slots__ = (
        "_audit_log",
        "_charges",
        "_clock",
        "_ids",
        "_ids_checked",
        "_log",
        "_risk",
        "_seen_trades",
        "_sender",
        "_tag_broker",
        "_tagged_strategies",
        "_throttle",
        "_trade_n",
        "blocked",
        "changes",
        "held",
        "incidents",
        "orders",
        "parent_of",
        "parents",
        "quarantined",
        "working",
    )

    def __init__(
        self,
        sender: OrderSender,
        clock: Clock,
        ids: IdGenerator,
        risk: RiskCheck,
        log: TradeLog,
        charges: ChargesModel,
        throttle: OrderThrottle | None = None,
        audit: OrderAuditLog | None = None,
    ) -> None:
        self._sender = sender
        # Whether the broker reads an order's tag: a venue that says it does not (the
        # backtest's) gets snapshots without one, and the tag is worked out only if read.
        self._tag_broker: bool = getattr(sender, "reads_order_tags", True)
        # Strategy ids `order_tag` has accepted once: it can fail only on the strategy id
        # (the client order id is checked before), so later orders may be tagged lazily.
        self._tagged_strategies: set[str] = set()
        self._throttle = throttle
        self._audit_log = audit
        # (client order id, action, the change for a modify) waiting for the throttle
        self.held: deque[tuple[ClientOrderId, str, OrderChange | None]] = deque()
        self._clock = clock
        self._ids = ids
        self._ids_checked: bool = getattr(ids, "issues_checked_ids", False) is True
        self._risk = risk
        self._log = log
        self._charges = charges
        self._seen_trades: set[str] = set()
        self._trade_n = 0
        self.orders: dict[ClientOrderId, Order] = {}
        self.working: dict[ClientOrderId, Order] = {}
        self.parents: dict[ClientOrderId, ParentOrder] = {}
        self.parent_of: dict[ClientOrderId, ParentOrder] = {}
        # changes asked of each order and not yet answered, oldest first
        self.changes: dict[ClientOrderId, deque[OrderChange]] = {}
        self.incidents: list[ReportIncident] = []
        self.quarantined: dict[ClientOrderId, ReportIncident] = {}
        # (strategy id, symbol) -> its quarantined orders: no new orders there meanwhile
        self.blocked: dict[tuple[str, str], set[ClientOrderId]] = {}

    # --- new orders ------------------------------------------------------------------------
    def create(
        self,
        intent: OrderIntent,
        view: RiskView,
        freeze_quantity: int | None = None,
        lot_size: int = 1,
        *,
        square_off: bool = False,
    ) -> tuple[ClientOrderId, list[Order]]:
        """Build the order, run the risk check, pass the throttle, write it down, then send
        it. A refused order comes back REJECTED with the decision as its reason and never
        reaches the broker. Above `freeze_quantity` the order is sliced into legal children
        (each checked and sent on its own) under one parent id, which is returned. A
        square-off is not held by a quarantine: carrying an intraday position overnight
        because one report was odd would be the worse outcome."""
        now = self._clock.now_ns()
        quantity = intent.quantity
        sizes, refusal = [quantity], ""
        if self.blocked and not square_off and (intent.strategy_id, intent.symbol) in self.blocked:
            held = sorted(self.blocked[(intent.strategy_id, intent.symbol)])
            refusal = f"QUARANTINED: order {held[0]} waits for reconciliation"
        elif freeze_quantity is not None and quantity > freeze_quantity:
            try:
                sizes = slice_order(quantity, lot_size, freeze_quantity, where=intent.symbol)
            except OrderError as exc:  # not whole lots: refused below, like a risk refusal
                refusal = f"LOT_SIZE: {exc}"
        parent: ParentOrder | None = None
        if len(sizes) > 1:
            parent = ParentOrder(check_client_order_id(self._ids.next_id()), intent, [], now)
            self.parents[parent.client_order_id] = parent
        made = []
        for size in sizes:
            order = self._new_order(intent, size, now)
            if parent is not None:
                parent.children.append(order)
                self.parent_of[order.client_order_id] = parent
                self._audit(
                    order,
                    AuditStage.SLICE,
                    "SLICED",
                    now,
                    {"parent_quantity": quantity, "freeze_quantity": freeze_quantity or 0},
                    parent=parent.client_order_id,
                )
            decision = self._risk.check(order, view) if not refusal else _refused(refusal)
            if not decision.allowed:
                order.apply(_EV_REJECT, now, str(decision))
                self._log.record_order(order, _EV_REJECT)
                self._audit(order, AuditStage.RISK, decision.code, now, detail=decision.detail)
            else:
                if self._audit_log is not None:
                    self._audit(order, AuditStage.RISK, decision.code, now)
                self._send_when_allowed(order, now)
            made.append(order)
        return (made[0].client_order_id if parent is None else parent.client_order_id), made

    def _new_order(self, intent: OrderIntent, quantity: int, now: int) -> Order:
        # An id the database could not hold (or the broker tag could not hash) is refused
        # here, before anything is recorded or sent.
        coid = self._ids.next_id()
        if not self._ids_checked:
            coid = check_client_order_id(coid)
        if coid in self.orders or coid in self.parents:
            raise OrderError(f"client order id {coid} was issued twice")
        # Built here rather than by Order.from_intent: one call less on every order.
        order = Order(
            coid,
            intent.strategy_id,  # type: ignore[arg-type]  # a StrategyId (NewType: no call)
            intent.symbol,
            intent.side,
            quantity,
            intent.order_type,
            intent.price_paise,
            intent.trigger_price_paise,
            intent.product,
            intent.validity,
            now,
        )
        sid = intent.strategy_id
        if sid in self._tagged_strategies:
            order.tag_with(order_tag)  # cannot fail now; worked out when first read
        else:
            order.tag = order_tag(sid, coid)  # refuses a strategy id with no tag prefix
            self._tagged_strategies.add(sid)
        self.orders[coid] = order
        if self._audit_log is not None:
            self._audit(order, AuditStage.INTENT, "ORDER_REQUESTED", now)
        return order

    # --- the throttle ----------------------------------------------------------------------
    def _may_send(self, now: int) -> bool:
        """Whether one more order action may go now; it is counted if so. Counted at the
        real send time, so a late wake-up can never bunch sends into one window."""
        throttle = self._throttle
        return throttle is None or throttle.admit_now(now)

    def _hold(self, order: Order, action: str, now: int, change: OrderChange | None = None) -> None:
        self.held.append((order.client_order_id, action, change))
        send_at = self._throttle.next_slot(now) if self._throttle is not None else now
        self._audit(order, AuditStage.THROTTLE, "THROTTLED", now, {"send_at_ns": send_at})

    def next_release_ns(self, now: int) -> int | None:
        """When the first held action may go (for a live engine's timer); None if none wait."""
        if not self.held:
            return None
        return self._throttle.next_slot(now) if self._throttle is not None else now

    def _send_when_allowed(self, order: Order, now: int) -> None:
        throttle = self._throttle  # `_may_send` inlined: this runs for every order
        # never overtake an action already waiting
        if self.held or (throttle is not None and not throttle.admit_now(now)):
            self._hold(order, _SUBMIT, now)
            return
        self._submit(order, now)

    def _submit(self, order: Order, now: int) -> None:
        order.apply(_EV_SUBMIT, now)
        self._log.record_order(order, _EV_SUBMIT)  # intent before action
        if self._audit_log is not None:
            self._audit(order, AuditStage.SUBMIT, "SENT", now)
        self.working[order.client_order_id] = order
        self._sender.place(order.snapshot(self._tag_broker))

    def release(self, now: int) -> None:
        """Send held orders, cancels and changes, oldest first, as far as the throttle
        allows now."""
        held = self.held
        while held:
            coid, action, change = held[0]
            order = self.orders[coid]
            if (action == _SUBMIT and order.status is not _NEW) or (
                action != _SUBMIT and not order.is_working
            ):
                held.popleft()  # withdrawn, or already done: nothing to send
                continue
            if not self._may_send(now):
                return
            held.popleft()
            if action == _SUBMIT:
                self._submit(order, now)
            elif action == _CANCEL:
                self._send_cancel(order, now)
            elif change is not None:
                self._send_change(order, change, now)

    # --- cancel and modify -----------------------------------------------------------------
    def children_of(self, client_order_id: ClientOrderId) -> list[Order]:
        """The broker orders behind an id the strategy holds: the children of a parent, or
        the one order."""
        parent = self.parents.get(client_order_id)
        if parent is not None:
            return list(parent.children)
        order = self.orders.get(client_order_id)
        return [] if order is None else [order]

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Cancel the order (every child of a parent). An order still held by the throttle
        is simply never sent; a working one goes PENDING_CANCEL and the request goes through
        the throttle (a cancel is an order action too). Asking twice sends one cancel."""
        now = self._clock.now_ns()
        for order in self.children_of(client_order_id):
            self._cancel_one(order, now)

    def _cancel_one(self, order: Order, now: int) -> None:
        if order.status is _NEW:
            order.apply(_EV_CANCEL, now, "CANCELLED_BEFORE_SEND")
            self._log.record_order(order, _EV_CANCEL)
            self._audit(order, AuditStage.CANCEL, "CANCELLED_BEFORE_SEND", now)
            return
        if not order.is_working or order.status is _PENDING_CANCEL:
            return
        order.apply(_EV_CANCEL_REQUEST, now)
        self._log.record_order(order, _EV_CANCEL_REQUEST)
        if self.held or not self._may_send(now):
            self._hold(order, _CANCEL, now)
            return
        self._send_cancel(order, now)

    def _send_cancel(self, order: Order, now: int) -> None:
        self._audit(order, AuditStage.CANCEL, "CANCEL_SENT", now)
        self._sender.cancel(order.client_order_id)

    def modify(self, client_order_id: ClientOrderId, change: OrderChange) -> str:
        """Ask for new terms; "" when asked, else the stable code of the refusal. A parent
        takes a new price or trigger on every working child; its quantity is the sum of its
        children's and is not changed here (PARENT_QUANTITY)."""
        now = self._clock.now_ns()
        kids = self.children_of(client_order_id)
        if not kids:
            return "UNKNOWN_ORDER"
        if client_order_id in self.parents and change.quantity is not None:
            return "PARENT_QUANTITY"
        targets = [o for o in kids if o.status in _MODIFIABLE]
        if not targets:
            return "NOT_MODIFIABLE"
        for order in targets:
            if change.quantity is not None and change.quantity <= order.filled_quantity:
                return "QUANTITY_BELOW_FILLED"
        for order in targets:
            order.apply(_EV_MODIFY_REQUEST, now)
            self._log.record_order(order, _EV_MODIFY_REQUEST)
            self.changes.setdefault(order.client_order_id, deque()).append(change)
            if self.held or not self._may_send(now):
                self._hold(order, _MODIFY, now, change)
            else:
                self._send_change(order, change, now)
        return ""

    def _send_change(self, order: Order, change: OrderChange, now: int) -> None:
        self._audit(order, AuditStage.MODIFY, "MODIFY_SENT", now)
        self._sender.modify(
            order.client_order_id,
            quantity=change.quantity,
            price_paise=change.price_paise,
            trigger_price_paise=change.trigger_price_paise,
        )

    def open_orders(self) -> list[Order]:
        """Orders not yet done: working at the broker, or held by the throttle."""
        held = [self.orders[coid] for coid, action, _ in self.held if action == _SUBMIT]
        return [*self.working.values(), *(o for o in held if o.status is _NEW)]

    # --- audit -----------------------------------------------------------------------------
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

    # --- reports ---------------------------------------------------------------------------
    def apply(self, report: ExecutionReport) -> tuple[Order, Fill | None] | None:
        """Apply a broker report. Returns the order and the fill it produced, or None for a
        report that changes nothing (a duplicate trade, news overtaken by events) or that
        could not be applied (then kept in `incidents`, its order quarantined). Never raises."""
        order = self.orders.get(report.client_order_id)  # type: ignore[call-overload]
        if order is None:
            self.incidents.append(
                ReportIncident(report, "UNKNOWN_ORDER", f"no order {report.client_order_id}")
            )
            return None
        try:
            if report.broker_order_id and order.broker_order_id is None:
                order.broker_order_id = report.broker_order_id  # a BrokerOrderId (NewType)
            event = report.event
            fill: Fill | None = None
            if event is _EV_FILL or event is _EV_PARTIAL_FILL:
                booked = self._apply_fill(order, report)
                if booked is None:
                    return None  # a replayed trade: booked once
                fill, event = booked
            elif (order.status, event) in TRANSITIONS and event not in _SETTLES:
                order.apply(event, report.ts_ns, report.reason)  # _apply_event's common case
            elif not self._apply_event(order, report):
                return None
        except Exception as exc:  # a report the books cannot take: quarantine, never raise
            self._quarantine(order, report, "REFUSED_REPORT", f"{type(exc).__name__}: {exc}")
            return None
        try:
            self._log.record_order(order, event)
        except Exception as exc:  # the books moved; the log must be repaired from them
            self._quarantine(order, report, "TRADE_LOG_FAILED", f"{type(exc).__name__}: {exc}")
        if order.status in TERMINAL_STATES:
            self.working.pop(order.client_order_id, None)
            if self.changes:
                self.changes.pop(order.client_order_id, None)
        return order, fill

    def _apply_event(self, order: Order, report: ExecutionReport) -> bool:
        """Move the order by a report that is not a fill; False when it changes nothing."""
        event = report.event
        status = order.status
        if (status, event) not in TRANSITIONS and (status, event) not in RESUMING:
            if event in _MAYBE_STALE or _ENDED_BY.get(status) is event:
                return False
            order.apply(event, report.ts_ns)  # raises IllegalTransitionError, naming both
        if event is _EV_MODIFY or event is _EV_MODIFY_REJECT:
            self._settle_change(order, event)
        order.apply(event, report.ts_ns, report.reason)
        return True

    def _apply_fill(self, order: Order, report: ExecutionReport) -> tuple[Fill, OrderEvent] | None:
        trade_id = report.trade_id
        if trade_id and trade_id in self._seen_trades:
            return None  # a replayed trade: booked once
        quantity, price = report.fill_quantity, report.fill_price_paise
        remaining = order.quantity - order.filled_quantity
        if quantity <= 0 or quantity > remaining or price <= 0:
            raise OrderError(
                f"order {order.client_order_id}: fill of {quantity} at {price} paise with "
                f"{remaining} remaining"
            )
        event = _EV_FILL if quantity == remaining else _EV_PARTIAL_FILL
        if (order.status, event) not in TRANSITIONS:  # no pending answer is a fill
            order.apply(event, report.ts_ns)  # raises IllegalTransitionError, naming both
        self._trade_n += 1
        raw = new_fill(
            trade_id or f"{order.client_order_id}-{self._trade_n}",  # type: ignore[arg-type]
            order.client_order_id,
            order.strategy_id,
            order.symbol,
            order.side,
            quantity,
            price,
            report.ts_ns,
            order.product,
        )
        charges = self._charges.charges_paise(raw, order)
        fill = raw if charges == 0 else _with_charges(raw, charges)
        self._log.record_fill(fill)  # before the order moves: a failure leaves it unchanged
        order.apply_fill(quantity, price, report.ts_ns)
        if trade_id:
            self._seen_trades.add(trade_id)  # only once the fill is applied
        return fill, event

    def _settle_change(self, order: Order, event: OrderEvent) -> None:
        queued = self.changes.get(order.client_order_id)
        if not queued:
            return  # a change made elsewhere (the broker's app): nothing of ours to settle
        change = queued.popleft()
        if not queued:
            del self.changes[order.client_order_id]
        if event is _EV_MODIFY:
            if change.quantity is not None:
                order.quantity = change.quantity
            if change.price_paise is not None:
                order.price_paise = change.price_paise
            if change.trigger_price_paise is not None:
                order.trigger_price_paise = change.trigger_price_paise

    # --- quarantine ------------------------------------------------------------------------
    def _quarantine(self, order: Order, report: ExecutionReport, code: str, detail: str) -> None:
        incident = ReportIncident(report, code, detail, order.strategy_id, order.symbol)
        self.incidents.append(incident)
        self.quarantined[order.client_order_id] = incident
        self.blocked.setdefault((order.strategy_id, order.symbol), set()).add(order.client_order_id)

    def resolve_quarantine(self, client_order_id: ClientOrderId) -> bool:
        """Reconciliation has repaired this order: new orders may go again. False when it
        was not quarantined."""
        incident = self.quarantined.pop(client_order_id, None)
        if incident is None:
            return False
        key = (incident.strategy_id, incident.symbol)
        ids = self.blocked.get(key)
        if ids is not None:
            ids.discard(client_order_id)
            if not ids:
                del self.blocked[key]
        return True


def _refused(text: str) -> RiskDecision:
    code, _, detail = text.partition(": ")
    return RiskDecision(False, code, detail)


def _with_charges(fill: Fill, charges_paise: int) -> Fill:
    return new_fill(
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
