"""Reconciliation decides from the broker's books what happened to orders that were sent or
may have been sent, and never guesses where the books disagree."""

from __future__ import annotations

import pytest

from algo_trading.domain import (
    BrokerOrderId,
    ClientOrderId,
    ExecutionReport,
    OrderEvent,
    OrderSnapshot,
    OrderStatus,
)
from algo_trading.engine import AllowAll, NoCharges, OrderManager, SequentialIds, SimulatedClock
from algo_trading.engine.reconciliation import (
    NEVER_SENT_REASON,
    BrokerOrder,
    BrokerTrade,
    Decision,
    NeverSentPolicy,
    Verdict,
    reconcile,
)
from tests.support.builders import make_order
from tests.support.fakes import FakeBroker, RecordingTradeLog

NOW = 1_800_000_000_000_000_000
E, S = OrderEvent, OrderStatus


def _ours(
    status: OrderStatus = OrderStatus.SUBMITTED,
    *,
    filled: int = 0,
    broker_id: str | None = None,
    quantity: int = 10,
    trigger: bool = False,
) -> OrderSnapshot:
    order = make_order(
        "O1",
        quantity=quantity,
        price_paise=10_000 if trigger else None,
        trigger_price_paise=9_900 if trigger else None,
    )
    order.apply(E.SUBMIT, 1)
    if status is S.OPEN:
        order.apply(E.ACCEPT, 2)
    if status is S.TRIGGER_PENDING:
        order.apply(E.ACCEPT_TRIGGER_PENDING, 2)
    if filled:
        order.apply_fill(filled, 10_000, 3)
    order.broker_order_id = None if broker_id is None else BrokerOrderId(broker_id)
    return order.snapshot()


def _book(
    status: OrderStatus, filled: int = 0, *, quantity: int = 10, reason: str = ""
) -> BrokerOrder:
    return BrokerOrder("O1", "B1", status, quantity, filled, reason)


def _trade(trade_id: str, qty: int, price: int = 10_050, ts: int = 5) -> BrokerTrade:
    return BrokerTrade(trade_id, "O1", "B1", qty, price, ts)


def _one(
    ours: list[OrderSnapshot],
    theirs: list[BrokerOrder],
    trades: list[BrokerTrade],
    *,
    policy: NeverSentPolicy = NeverSentPolicy.CANCEL,
    known: tuple[str, ...] = (),
) -> Decision:
    result = reconcile(ours, theirs, trades, set(known), policy=policy, now_ns=NOW)
    (decision,) = result.decisions
    return decision


def _events(decision: Decision) -> list[tuple[OrderEvent, int]]:
    return [(r.event, r.fill_quantity) for r in decision.reports]


def test_an_order_the_broker_never_saw_within_the_window_is_cancelled_here() -> None:
    d = _one([_ours()], [], [])
    assert d.verdict is Verdict.NEVER_SENT
    assert d.reports == (ExecutionReport("O1", E.CANCEL, NOW, reason=NEVER_SENT_REASON),)


def test_an_acknowledged_order_missing_at_the_broker_is_unresolved_not_guessed() -> None:
    d = _one([_ours(S.OPEN, broker_id="B1")], [], [])
    assert d.verdict is Verdict.UNRESOLVED
    assert "no order tagged O1" in d.note


def test_broker_rows_are_matched_by_the_tag_the_order_was_sent_with() -> None:
    order = make_order("O1")
    order.tag = "ema-O1"
    order.apply(E.SUBMIT, 1)
    theirs = BrokerOrder("ema-O1", "B1", S.FILLED, 10, 10)
    trade = BrokerTrade("T1", "ema-O1", "B1", 10, 10_050, 5)
    d = _one([order.snapshot()], [theirs], [trade])
    assert _events(d) == [(E.ACCEPT, 0), (E.FILL, 10)]
    assert {r.client_order_id for r in d.reports} == {"O1"}


def test_an_order_open_at_the_broker_is_acknowledged_with_its_broker_id() -> None:
    d = _one([_ours()], [_book(S.OPEN)], [])
    assert d.verdict is Verdict.ACKNOWLEDGED
    assert d.reports == (ExecutionReport("O1", E.ACCEPT, NOW, "B1"),)


def test_missed_fills_are_applied_in_time_order_after_the_acknowledgement() -> None:
    trades = [_trade("T2", 6, ts=9), _trade("T1", 4, ts=7)]
    d = _one([_ours()], [_book(S.FILLED, 10)], trades)
    assert d.verdict is Verdict.ACKNOWLEDGED
    assert _events(d) == [(E.ACCEPT, 0), (E.FILL, 4), (E.FILL, 6)]
    assert [r.trade_id for r in d.reports[1:]] == ["T1", "T2"]


def test_fills_already_booked_are_not_applied_again() -> None:
    trades = [_trade("T1", 4), _trade("T2", 6)]
    d = _one(
        [_ours(S.OPEN, filled=4, broker_id="B1")], [_book(S.FILLED, 10)], trades, known=("T1",)
    )
    assert _events(d) == [(E.FILL, 6)]


def test_an_order_already_in_step_with_the_broker_needs_nothing() -> None:
    d = _one([_ours(S.OPEN, broker_id="B1")], [_book(S.OPEN)], [])
    assert (d.verdict, d.reports) == (Verdict.IN_SYNC, ())


@pytest.mark.parametrize(("theirs", "event"), [(S.CANCELLED, E.CANCEL), (S.EXPIRED, E.EXPIRE)])
def test_a_partly_filled_order_ended_at_the_broker_gets_its_fills_then_its_end(
    theirs: OrderStatus, event: OrderEvent
) -> None:
    d = _one([_ours()], [_book(theirs, 3, reason="user")], [_trade("T1", 3)])
    assert _events(d) == [(E.ACCEPT, 0), (E.FILL, 3), (event, 0)]
    assert d.reports[-1].reason == "user"


def test_an_order_rejected_by_the_exchange_is_rejected_without_an_acknowledgement() -> None:
    d = _one([_ours()], [_book(S.REJECTED, reason="price band")], [])
    assert d.reports == (ExecutionReport("O1", E.REJECT, NOW, "B1", reason="price band"),)


def test_a_stop_order_is_acknowledged_as_trigger_pending_and_later_triggered() -> None:
    pending = _one([_ours(trigger=True)], [_book(S.TRIGGER_PENDING)], [])
    assert _events(pending) == [(E.ACCEPT_TRIGGER_PENDING, 0)]
    triggered = _one([_ours(S.TRIGGER_PENDING, broker_id="B1", trigger=True)], [_book(S.OPEN)], [])
    assert _events(triggered) == [(E.TRIGGER, 0)]


def test_an_order_still_pending_at_the_broker_is_left_to_be_looked_at_again() -> None:
    d = _one([_ours()], [_book(S.SUBMITTED)], [])
    assert (d.verdict, d.reports) == (Verdict.SENT, ())


@pytest.mark.parametrize(
    ("ours", "theirs", "trades", "why"),
    [
        (_ours(), _book(S.OPEN, quantity=20), [], "for 10 here but 20 at the broker"),
        (_ours(S.OPEN, broker_id="B9"), _book(S.OPEN), [], "B9 here but B1 at the broker"),
        (_ours(), _book(S.FILLED, 10), [_trade("T1", 4)], "reports 10 filled"),
        (_ours(filled=4), _book(S.REJECTED, 4), [], "REJECT in state PARTIALLY_FILLED"),
    ],
)
def test_books_that_disagree_beyond_a_report_are_unresolved_with_the_reason(
    ours: OrderSnapshot, theirs: BrokerOrder, trades: list[BrokerTrade], why: str
) -> None:
    d = _one([ours], [theirs], trades)
    assert (d.verdict, d.reports) == (Verdict.UNRESOLVED, ())
    assert why in d.note


def test_broker_orders_with_tags_we_did_not_ask_about_are_returned_unmatched() -> None:
    stranger = BrokerOrder("ZZ", "B7", S.OPEN, 1, 0)
    result = reconcile([], [stranger], [], set(), policy=NeverSentPolicy.CANCEL, now_ns=NOW)
    assert (result.decisions, result.unmatched) == ((), (stranger,))


def test_the_reports_bring_the_order_manager_to_the_brokers_state() -> None:
    order = make_order("O1", quantity=10)
    order.apply(E.SUBMIT, 1)
    log = RecordingTradeLog()
    manager = OrderManager(
        FakeBroker(), SimulatedClock(), SequentialIds(), AllowAll(), log, NoCharges()
    )
    manager.orders[ClientOrderId("O1")] = manager.working[ClientOrderId("O1")] = order
    trades = [_trade("T1", 4, ts=7), _trade("T2", 6, ts=9)]
    d = _one([order.snapshot()], [_book(S.FILLED, 10)], trades)
    for report in d.reports:
        manager.apply(report)
    assert (order.status, order.filled_quantity, order.broker_order_id) == (S.FILLED, 10, "B1")
    assert [f.trade_id for f in log.fills] == ["T1", "T2"]
