"""Reconciliation: our books against the broker's, by the tag each order was sent with.

Input: our orders that were sent or may have been sent (from the database, or the broker
adapter's own records), the broker's order book and trade book (their rows carry the tag we
sent: `Order.tag`, or the client order id itself for an order without one), and the trade ids
we have already booked. Output: one decision per order, with the execution reports that bring
our books to the broker's truth (the caller feeds them to `OrderManager.apply`, in order, so
every change goes through the lifecycle table and the trade log) and the broker-side actions
the caller should execute (cancelling an extra order). Pure: no I/O, no clock (`now_ns` is
passed in).

An order is placed at most once, ever (DESIGN.md, "Services and how they meet"). So nothing
here asks for a send: a place whose answer was lost stays SUBMITTED, UNCONFIRMED, until the
broker's books show it (adopted, however late) or until `confirm_window_ns` has passed with no
trace (NEVER_SENT: closed here as cancelled). Should it appear after that, it is adopted with
an alert (ADOPTED_LATE): its fills are booked and, by default, it is cancelled at the broker,
since the strategy has already been told it does not exist. Broker orders are grouped by tag:
two broker orders carrying one of our tags are a DUPLICATE, reported with an alert, and the
extra one is cancelled while it is still open (by default), never silently dropped.

The broker's books are the truth; ours are repaired, never the other way round. Where the two
disagree in a way no report explains (a different quantity, fills we cannot see trade by
trade, an acknowledged order the broker does not know), the decision is UNRESOLVED and says
why: a person looks, nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import (
    TERMINAL_STATES,
    TRANSITIONS,
    OrderEvent,
    OrderSnapshot,
    OrderStatus,
)

__all__ = [
    "DEFAULT_CONFIRM_WINDOW_NS",
    "NEVER_SENT_REASON",
    "BrokerOrder",
    "BrokerTrade",
    "CancelAction",
    "Decision",
    "NeverSentPolicy",
    "ReconcileConfig",
    "Reconciliation",
    "Verdict",
    "group_by_tag",
    "reconcile",
]

S, E = OrderStatus, OrderEvent
_TERMINAL_EVENT = {S.CANCELLED: E.CANCEL, S.EXPIRED: E.EXPIRE, S.REJECTED: E.REJECT}
NEVER_SENT_REASON = "never reached the broker (found by reconciliation)"
# A minute: Angel One's order book shows an order within seconds of the exchange taking it,
# and the adapter gives up on a place after its HTTP timeout (a few seconds), so a minute
# with no trace is well past any honest delay, while a strategy is not left waiting long.
DEFAULT_CONFIRM_WINDOW_NS = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """A row of the broker's order book, its status mapped onto ours by the adapter."""

    tag: str  # what we sent with the order (`Order.tag`)
    broker_order_id: str
    status: OrderStatus
    quantity: int
    filled_quantity: int
    reason: str = ""

    @property
    def is_open(self) -> bool:
        """Still able to trade at the broker, so still cancellable there."""
        return self.status not in TERMINAL_STATES


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
    ACKNOWLEDGED = "ACKNOWLEDGED"  # known to the broker (adopted); the reports catch us up
    SENT = "SENT"  # the broker has it but has not acknowledged it yet: look again later
    UNCONFIRMED = "UNCONFIRMED"  # no trace yet, inside the window: keep SUBMITTED, look again
    NEVER_SENT = "NEVER_SENT"  # no trace for the whole window: declared not placed, closed here
    ADOPTED_LATE = "ADOPTED_LATE"  # appeared after we closed it here: booked, with an alert
    DUPLICATE = "DUPLICATE"  # two or more broker orders carry this order's tag
    UNRESOLVED = "UNRESOLVED"  # the books disagree beyond what a report explains


class NeverSentPolicy(StrEnum):
    """What to do with an order the broker has no trace of after the window. Sending it again
    is deliberately not a choice: the answer may only be late, and an order is placed at most
    once."""

    CANCEL = "CANCEL"  # close it here as cancelled: it never existed at the broker


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """The choices the broker's books leave open (issue #9, item 2)."""

    confirm_window_ns: int = DEFAULT_CONFIRM_WINDOW_NS  # no trace this long: not placed
    cancel_duplicates: bool = True  # cancel the extra broker order of a duplicated tag
    cancel_late: bool = True  # cancel an order that appears after it was declared not placed

    def __post_init__(self) -> None:
        if self.confirm_window_ns < 0:
            raise ConfigError(
                f"reconciliation: confirm_window_ns={self.confirm_window_ns} must be >= 0"
            )


@dataclass(frozen=True, slots=True)
class CancelAction:
    """Cancel this broker order: the caller executes it (the core does no I/O)."""

    client_order_id: ClientOrderId  # our order whose tag it carries
    broker_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    client_order_id: ClientOrderId
    verdict: Verdict
    reports: tuple[ExecutionReport, ...] = ()  # for OrderManager.apply, in this order
    note: str = ""
    alert: str = ""  # non-empty: a person must hear of it (log at error level, notify)
    duplicates: tuple[BrokerOrder, ...] = ()  # broker orders carrying our tag beyond the one
    actions: tuple[CancelAction, ...] = ()  # broker-side cancels for the caller to execute
    broker_order_id: str | None = None  # the broker order taken to be this one, when found


@dataclass(frozen=True, slots=True)
class Reconciliation:
    decisions: tuple[Decision, ...]
    unmatched: tuple[BrokerOrder, ...]  # broker orders whose tag matches none of ours
    actions: tuple[CancelAction, ...] = field(default=())  # every decision's, in order

    def by_order(self) -> dict[ClientOrderId, Decision]:
        return {d.client_order_id: d for d in self.decisions}

    def alerts(self) -> list[tuple[ClientOrderId, str]]:
        return [(d.client_order_id, d.alert) for d in self.decisions if d.alert]


def group_by_tag(broker_orders: Iterable[BrokerOrder]) -> dict[str, list[BrokerOrder]]:
    """The broker's orders by tag, every one kept: a tag on two orders is a duplicate to see."""
    book: dict[str, list[BrokerOrder]] = {}
    for b in broker_orders:
        book.setdefault(b.tag, []).append(b)
    return book


def reconcile(
    ours: Sequence[OrderSnapshot],
    broker_orders: Iterable[BrokerOrder],
    broker_trades: Iterable[BrokerTrade],
    known_trade_ids: Collection[str],
    *,
    now_ns: int,
    policy: NeverSentPolicy = NeverSentPolicy.CANCEL,
    config: ReconcileConfig | None = None,
    sent_ns: Mapping[ClientOrderId, int] | None = None,
) -> Reconciliation:
    """Decide, for each of `ours`, what the broker's books say happened to it.

    `ours` holds the orders not finished here, plus any closed here without a broker id
    (declared not placed) that could still appear. `sent_ns` gives when each was sent; when
    it is missing, the order's last change stands for it (for an order still SUBMITTED, that
    is its SUBMIT).
    """
    del policy  # one policy today; kept so callers state their choice explicitly
    cfg = config or ReconcileConfig()
    book = group_by_tag(broker_orders)
    trades: dict[str, list[BrokerTrade]] = {}
    for t in broker_trades:
        if t.trade_id not in known_trade_ids:
            trades.setdefault(t.broker_order_id, []).append(t)
    decisions = []
    for order in ours:
        rows = book.pop(order.tag or order.client_order_id, [])
        if not rows:
            sent = (sent_ns or {}).get(order.client_order_id, order.updated_ns)
            decisions.append(_absent(order, now_ns - sent, cfg, now_ns))
        else:
            decisions.append(_found(order, rows, trades, cfg, now_ns))
    unmatched = tuple(b for rows in book.values() for b in rows)
    actions = tuple(a for d in decisions for a in d.actions)
    return Reconciliation(tuple(decisions), unmatched, actions)


def _unconfirmed(order: OrderSnapshot) -> bool:
    """Sent (or maybe sent) and never acknowledged: the broker may or may not have it."""
    return (
        order.broker_order_id is None
        and order.filled_quantity == 0
        and order.status not in TERMINAL_STATES
        and order.status is not S.NEW
    )


def _absent(order: OrderSnapshot, age_ns: int, cfg: ReconcileConfig, now_ns: int) -> Decision:
    coid = order.client_order_id
    tag = order.tag or coid
    if order.status in TERMINAL_STATES and order.broker_order_id is None:
        return Decision(coid, Verdict.IN_SYNC)  # closed here, and the broker agrees
    if not _unconfirmed(order):
        return Decision(
            coid,
            Verdict.UNRESOLVED,
            note=f"the broker has no order tagged {tag}, yet {coid} is "
            f"{order.status.value} with broker id {order.broker_order_id or '-'}",
        )
    window_s = cfg.confirm_window_ns / 1e9
    if age_ns < cfg.confirm_window_ns:
        return Decision(
            coid,
            Verdict.UNCONFIRMED,
            note=f"no order tagged {tag} at the broker yet; declared not placed after "
            f"{window_s:g}s without a trace",
        )
    cancel = ExecutionReport(coid, E.CANCEL, now_ns, reason=NEVER_SENT_REASON)
    illegal = _replay(order, [cancel])
    if illegal:
        return Decision(coid, Verdict.UNRESOLVED, note=illegal)
    note = f"{NEVER_SENT_REASON}: no order tagged {tag} within {window_s:g}s"
    return Decision(coid, Verdict.NEVER_SENT, (cancel,), note=note)


def _found(
    order: OrderSnapshot,
    rows: list[BrokerOrder],
    trades: Mapping[str, list[BrokerTrade]],
    cfg: ReconcileConfig,
    now_ns: int,
) -> Decision:
    primary, extras = _split(order, rows)
    missed = sorted(trades.get(primary.broker_order_id, ()), key=lambda t: t.ts_ns)
    if order.status in TERMINAL_STATES and order.broker_order_id is None:
        decision = _late(order, primary, missed, cfg)
    else:
        decision = _present(order, primary, missed, now_ns)
    if extras:
        decision = _with_duplicates(decision, order, extras, cfg)
    return replace(decision, broker_order_id=primary.broker_order_id)


def _split(order: OrderSnapshot, rows: list[BrokerOrder]) -> tuple[BrokerOrder, list[BrokerOrder]]:
    """Which broker order is ours, and which are extras carrying our tag. Ours is the one we
    were told about; otherwise the one with the most filled (its fills fit our order, and an
    unfilled extra can still be cancelled); otherwise the first in the book."""
    known = [r for r in rows if r.broker_order_id == order.broker_order_id]
    # max keeps the first of equals, so ties go to the book's order
    primary = known[0] if known else max(rows, key=lambda r: r.filled_quantity)
    return primary, [r for r in rows if r is not primary]


def _late(
    order: OrderSnapshot, theirs: BrokerOrder, missed: list[BrokerTrade], cfg: ReconcileConfig
) -> Decision:
    """An order closed here without a broker id (declared not placed) that the broker has:
    its fills are real and are booked (late fills in a terminal state); while it is open it
    trades for a strategy that no longer knows it, so it is cancelled unless told not to."""
    coid = order.client_order_id
    bid = theirs.broker_order_id
    reports = tuple(
        ExecutionReport(coid, E.FILL, t.ts_ns, bid, t.quantity, t.price_paise, t.trade_id)
        for t in missed
    )
    actions: tuple[CancelAction, ...] = ()
    if theirs.is_open and cfg.cancel_late:
        actions = (CancelAction(coid, bid, f"{coid} appeared after it was declared not placed"),)
    alert = (
        f"order {coid} was {order.status.value} here without a broker id, but the broker has "
        f"it as {bid} ({theirs.status.value}, {theirs.filled_quantity}/{theirs.quantity} "
        f"filled)" + ("; cancelling it there" if actions else "")
    )
    return Decision(coid, Verdict.ADOPTED_LATE, reports, alert=alert, actions=actions)


def _with_duplicates(
    decision: Decision, order: OrderSnapshot, extras: list[BrokerOrder], cfg: ReconcileConfig
) -> Decision:
    coid = order.client_order_id
    tag = order.tag or coid
    cancels = tuple(
        CancelAction(coid, x.broker_order_id, f"duplicate of tag {tag}")
        for x in extras
        if x.is_open and cfg.cancel_duplicates
    )
    filled = [x for x in extras if x.filled_quantity]
    parts = [
        f"{len(extras) + 1} broker orders carry tag {tag} of {coid}: "
        + ", ".join(f"{x.broker_order_id} ({x.status.value})" for x in extras)
        + " beyond the one adopted"
    ]
    if cancels:
        parts.append("cancelling " + ", ".join(c.broker_order_id for c in cancels))
    if filled:
        parts.append(
            "filled on the extra orders and booked by none of ours: "
            + ", ".join(f"{x.broker_order_id} {x.filled_quantity}" for x in filled)
        )
    if decision.alert:
        parts.append(decision.alert)
    # A primary the books disagree about stays UNRESOLVED (a person looks), duplicates or not.
    verdict = Verdict.UNRESOLVED if decision.verdict is Verdict.UNRESOLVED else Verdict.DUPLICATE
    return replace(
        decision,
        verdict=verdict,
        alert="; ".join(parts),
        duplicates=tuple(extras),
        actions=decision.actions + cancels,
    )


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
