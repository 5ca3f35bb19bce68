"""Reconciliation after a restart: our books against the broker's, by client order id.

Input: our orders that were sent or may have been sent and are not finished (from the
database), the broker's order book and trade book (their rows carry the tag we sent with the
order: `Order.tag`, or the client order id itself for an order without one), and the trade
ids we have already booked. Output: one decision per order,
with the execution reports that bring our books to the broker's truth; the caller feeds them
to `OrderManager.apply`, in order, so every change still goes through the lifecycle table
and the trade log. Pure: no I/O, no clock (the caller passes `now_ns`).

The broker's books are the truth; ours are repaired, never the other way round. Where the two
disagree in a way that a report cannot explain (a different quantity, fills we cannot see
trade by trade, an acknowledged order the broker does not know), the decision is UNRESOLVED
and says why: a person looks, nothing is guessed. Call it once the broker's books have
settled (a few seconds after a crash), or a request still in flight may look never-sent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import TRANSITIONS, OrderEvent, OrderSnapshot, OrderStatus

__all__ = [
    "BrokerOrder",
    "BrokerTrade",
    "Decision",
    "NeverSentPolicy",
    "Reconciliation",
    "Verdict",
    "reconcile",
]

S, E = OrderStatus, OrderEvent
_TERMINAL_EVENT = {S.CANCELLED: E.CANCEL, S.EXPIRED: E.EXPIRE, S.REJECTED: E.REJECT}
NEVER_SENT_REASON = "never reached the broker (found by reconciliation)"


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """A row of the broker's order book, its status mapped onto ours by the adapter."""

    tag: str  # what we sent with the order (`Order.tag`)
    broker_order_id: str
    status: OrderStatus
    quantity: int
    filled_quantity: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BrokerTrade:
    """A row of the broker's trade book."""

    trade_id: str
    tag: str
    broker_order_id: str
    quantity: int
    price_paise: int
    ts_ns: int


class Verdict(StrEnum):
    IN_SYNC = "IN_SYNC"  # our books already say what the broker says
    ACKNOWLEDGED = "ACKNOWLEDGED"  # sent and known to the broker; the reports catch us up
    SENT = "SENT"  # the broker has it but has not acknowledged it yet: look again later
    NEVER_SENT = "NEVER_SENT"  # the broker has no order with this tag
    UNRESOLVED = "UNRESOLVED"  # the books disagree beyond what a report explains


class NeverSentPolicy(StrEnum):
    RESEND = "RESEND"  # send it again under the same client order id
    CANCEL = "CANCEL"  # close it here as cancelled: it never existed at the broker


@dataclass(frozen=True, slots=True)
class Decision:
    client_order_id: ClientOrderId
    verdict: Verdict
    reports: tuple[ExecutionReport, ...] = ()  # for OrderManager.apply, in this order
    resend: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reconciliation:
    decisions: tuple[Decision, ...]
    unmatched: tuple[BrokerOrder, ...]  # broker orders whose tag matches none of ours

    def by_order(self) -> dict[ClientOrderId, Decision]:
        return {d.client_order_id: d for d in self.decisions}


def reconcile(
    ours: Sequence[OrderSnapshot],
    broker_orders: Iterable[BrokerOrder],
    broker_trades: Iterable[BrokerTrade],
    known_trade_ids: Collection[str],
    *,
    policy: NeverSentPolicy,
    now_ns: int,
) -> Reconciliation:
    """Decide, for each of `ours`, what the broker's books say happened to it."""
    book = {b.tag: b for b in broker_orders}
    trades: dict[str, list[BrokerTrade]] = {}
    for t in broker_trades:
        if t.trade_id not in known_trade_ids:
            trades.setdefault(t.tag, []).append(t)
    decisions = []
    for order in ours:
        tag = order.tag or order.client_order_id
        theirs = book.pop(tag, None)
        if theirs is None:
            decisions.append(_absent(order, policy, now_ns))
        else:
            missed = sorted(trades.get(tag, ()), key=lambda t: t.ts_ns)
            decisions.append(_present(order, theirs, missed, now_ns))
    return Reconciliation(tuple(decisions), tuple(book.values()))


def _absent(order: OrderSnapshot, policy: NeverSentPolicy, now_ns: int) -> Decision:
    coid = order.client_order_id
    if order.status is not S.SUBMITTED or order.broker_order_id is not None:
        return Decision(
            coid,
            Verdict.UNRESOLVED,
            note=f"the broker has no order tagged {order.tag or coid}, yet {coid} is "
            f"{order.status.value}"
            f" with broker id {order.broker_order_id or '-'}",
        )
    if policy is NeverSentPolicy.RESEND:
        return Decision(coid, Verdict.NEVER_SENT, resend=True, note="send it again")
    cancel = ExecutionReport(coid, E.CANCEL, now_ns, reason=NEVER_SENT_REASON)
    return Decision(coid, Verdict.NEVER_SENT, (cancel,), note=NEVER_SENT_REASON)


def _present(
    order: OrderSnapshot, theirs: BrokerOrder, missed: list[BrokerTrade], now_ns: int
) -> Decision:
    coid = order.client_order_id
    problem = _mismatch(order, theirs, missed)
    if problem:
        return Decision(coid, Verdict.UNRESOLVED, note=problem)
    bid = theirs.broker_order_id
    if theirs.status is S.SUBMITTED:
        return Decision(coid, Verdict.SENT, note=f"pending at the broker as {bid}")
    reports: list[ExecutionReport] = []
    if order.status is S.SUBMITTED:
        if theirs.status is S.TRIGGER_PENDING:
            reports.append(ExecutionReport(coid, E.ACCEPT_TRIGGER_PENDING, now_ns, bid))
        elif theirs.status is not S.REJECTED:
            reports.append(ExecutionReport(coid, E.ACCEPT, now_ns, bid))
    elif order.status is S.TRIGGER_PENDING and theirs.status is S.OPEN:
        reports.append(ExecutionReport(coid, E.TRIGGER, now_ns, bid))
    for t in missed:
        reports.append(
            ExecutionReport(coid, E.FILL, t.ts_ns, bid, t.quantity, t.price_paise, t.trade_id)
        )
    terminal = _TERMINAL_EVENT.get(theirs.status)
    if terminal is not None:
        reports.append(ExecutionReport(coid, terminal, now_ns, bid, reason=theirs.reason))
    illegal = _replay(order, reports)
    if illegal:
        return Decision(coid, Verdict.UNRESOLVED, note=illegal)
    if not reports and order.broker_order_id == bid:
        return Decision(coid, Verdict.IN_SYNC)
    return Decision(coid, Verdict.ACKNOWLEDGED, tuple(reports))


def _mismatch(order: OrderSnapshot, theirs: BrokerOrder, missed: list[BrokerTrade]) -> str:
    coid = order.client_order_id
    if order.broker_order_id is not None and order.broker_order_id != theirs.broker_order_id:
        return (
            f"order {coid} is {order.broker_order_id} here but {theirs.broker_order_id} "
            "at the broker"
        )
    if theirs.quantity != order.quantity:
        return f"order {coid} is for {order.quantity} here but {theirs.quantity} at the broker"
    seen = order.filled_quantity + sum(t.quantity for t in missed)
    if seen != theirs.filled_quantity:
        return (
            f"order {coid}: the broker reports {theirs.filled_quantity} filled, but our "
            f"{order.filled_quantity} and its unbooked trades add up to {seen}"
        )
    return ""


def _replay(order: OrderSnapshot, reports: list[ExecutionReport]) -> str:
    """Walk the reports through the lifecycle table; '' if every step is legal."""
    status, remaining = order.status, order.remaining
    for r in reports:
        event = r.event
        if event is E.FILL:
            remaining -= r.fill_quantity
            event = E.FILL if remaining == 0 else E.PARTIAL_FILL
        nxt = TRANSITIONS.get((status, event))
        if nxt is None:
            return (
                f"order {order.client_order_id}: the broker's books need {event.value} "
                f"in state {status.value}, which the lifecycle does not allow"
            )
        status = nxt
    return ""
