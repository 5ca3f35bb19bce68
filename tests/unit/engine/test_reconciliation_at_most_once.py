"""An order is placed at most once: reconciliation keeps an order whose place answer was lost
SUBMITTED until the broker's books settle it, declares it not placed only after a window with
no trace, adopts it with an alert if it shows up after that, and sees every broker order that
carries one of our tags (issue #9, item 2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import BrokerOrderId, ConfigError, OrderEvent, OrderSnapshot, OrderStatus
from algo_trading.domain.orders import Order
from algo_trading.engine.reconciliation import (
    DEFAULT_CONFIRM_WINDOW_NS,
    NEVER_SENT_REASON,
    BrokerOrder,
    BrokerTrade,
    CancelAction,
    Decision,
    NeverSentPolicy,
    ReconcileConfig,
    Verdict,
    reconcile,
)
from tests.support.builders import make_order

E, S = OrderEvent, OrderStatus
SENT_AT = 1_000_000_000_000_000_000
SECOND = 1_000_000_000
WINDOW = 30 * SECOND


def _sent(coid: str = "O1", *, quantity: int = 10) -> Order:
    order = make_order(coid, quantity=quantity)
    order.tag = f"tag-{coid}"
    order.apply(E.SUBMIT, SENT_AT)
    return order


def _decide(
    ours: list[OrderSnapshot],
    theirs: list[BrokerOrder],
    trades: tuple[BrokerTrade, ...] = (),
    *,
    after_ns: int,
    **config: object,
) -> Decision:
    cfg = ReconcileConfig(confirm_window_ns=WINDOW, **config)  # type: ignore[arg-type]
    result = reconcile(ours, theirs, trades, set(), now_ns=SENT_AT + after_ns, config=cfg)
    (decision,) = result.decisions
    assert result.actions == decision.actions
    return decision


def _row(
    bid: str, status: OrderStatus = S.OPEN, filled: int = 0, tag: str = "tag-O1"
) -> BrokerOrder:
    return BrokerOrder(tag, bid, status, 10, filled)


def test_an_unconfirmed_order_with_no_trace_inside_the_window_stays_submitted() -> None:
    d = _decide([_sent().snapshot()], [], after_ns=WINDOW - 1)
    assert (d.verdict, d.reports, d.actions) == (Verdict.UNCONFIRMED, (), ())


def test_an_unconfirmed_order_is_declared_not_placed_only_once_the_window_has_passed() -> None:
    d = _decide([_sent().snapshot()], [], after_ns=WINDOW)
    assert d.verdict is Verdict.NEVER_SENT
    assert [(r.event, r.reason) for r in d.reports] == [(E.CANCEL, NEVER_SENT_REASON)]


def test_the_window_counts_from_when_the_adapter_says_it_sent_the_order() -> None:
    order = _sent()
    later = SENT_AT + 20 * SECOND
    cfg = ReconcileConfig(confirm_window_ns=WINDOW)
    now = SENT_AT + WINDOW + SECOND
    (d,) = reconcile(
        [order.snapshot()],
        [],
        [],
        set(),
        now_ns=now,
        config=cfg,
        sent_ns={order.client_order_id: later},
    ).decisions
    assert d.verdict is Verdict.UNCONFIRMED


def test_the_default_window_is_a_minute() -> None:
    assert ReconcileConfig().confirm_window_ns == DEFAULT_CONFIRM_WINDOW_NS == 60 * SECOND


def test_a_negative_window_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="confirm_window_ns"):
        ReconcileConfig(confirm_window_ns=-1)


def test_sending_again_is_not_a_policy_reconciliation_offers() -> None:
    assert [p.value for p in NeverSentPolicy] == ["CANCEL"]


def test_an_unconfirmed_order_that_appears_however_late_is_adopted_without_an_alert() -> None:
    d = _decide([_sent().snapshot()], [_row("B1")], after_ns=10 * WINDOW)
    assert d.verdict is Verdict.ACKNOWLEDGED
    assert [(r.event, r.broker_order_id) for r in d.reports] == [(E.ACCEPT, "B1")]
    assert d.alert == ""


@pytest.mark.parametrize(("cancel_late", "cancelled"), [(True, ("B1",)), (False, ())])
def test_an_order_appearing_after_it_was_declared_not_placed_is_adopted_with_an_alert(
    cancel_late: bool, cancelled: tuple[str, ...]
) -> None:
    order = _sent()
    order.apply(E.CANCEL, SENT_AT + WINDOW, NEVER_SENT_REASON)
    trade = BrokerTrade("T1", "tag-O1", "B1", 4, 10_050, SENT_AT + WINDOW + 1)
    d = _decide(
        [order.snapshot()],
        [_row("B1", S.PARTIALLY_FILLED, 4)],
        (trade,),
        after_ns=2 * WINDOW,
        cancel_late=cancel_late,
    )
    assert d.verdict is Verdict.ADOPTED_LATE
    assert "B1" in d.alert
    assert [(r.event, r.fill_quantity, r.trade_id) for r in d.reports] == [(E.FILL, 4, "T1")]
    assert tuple(a.broker_order_id for a in d.actions) == cancelled


def test_an_order_closed_here_and_still_absent_at_the_broker_needs_nothing() -> None:
    order = _sent()
    order.apply(E.CANCEL, SENT_AT + WINDOW, NEVER_SENT_REASON)
    d = _decide([order.snapshot()], [], after_ns=5 * WINDOW)
    assert (d.verdict, d.reports, d.alert) == (Verdict.IN_SYNC, (), "")


def test_two_broker_orders_for_one_tag_are_a_duplicate_and_the_open_extra_is_cancelled() -> None:
    order = _sent()
    order.apply(E.ACCEPT, SENT_AT + 1)
    order.broker_order_id = BrokerOrderId("B1")
    d = _decide([order.snapshot()], [_row("B1"), _row("B2")], after_ns=SECOND)
    assert d.verdict is Verdict.DUPLICATE
    assert [x.broker_order_id for x in d.duplicates] == ["B2"]
    assert d.actions == (CancelAction(order.client_order_id, "B2", "duplicate of tag tag-O1"),)
    assert "B2" in d.alert


def test_the_extra_order_is_kept_when_cancelling_duplicates_is_turned_off() -> None:
    d = _decide(
        [_sent().snapshot()], [_row("B1"), _row("B2")], after_ns=SECOND, cancel_duplicates=False
    )
    assert (d.verdict, d.actions) == (Verdict.DUPLICATE, ())
    assert [x.broker_order_id for x in d.duplicates] == ["B2"]


def test_an_unconfirmed_order_with_duplicates_adopts_the_filled_one_and_books_only_its_fills() -> (
    None
):
    trades = (
        BrokerTrade("T1", "tag-O1", "B1", 10, 10_000, SENT_AT + 1),
        BrokerTrade("T2", "tag-O1", "B2", 10, 10_000, SENT_AT + 2),
    )
    rows = [_row("B1", S.OPEN), _row("B2", S.FILLED, 10)]
    d = _decide([_sent().snapshot()], rows, trades, after_ns=SECOND)
    assert d.verdict is Verdict.DUPLICATE
    assert [(r.event, r.broker_order_id, r.trade_id) for r in d.reports] == [
        (E.ACCEPT, "B2", ""),
        (E.FILL, "B2", "T2"),
    ]
    assert [a.broker_order_id for a in d.actions] == ["B1"]


def test_fills_on_an_extra_order_are_named_in_the_alert_for_a_person() -> None:
    rows = [_row("B1", S.FILLED, 10), _row("B2", S.FILLED, 10)]
    trades = (
        BrokerTrade("T1", "tag-O1", "B1", 10, 10_000, SENT_AT + 1),
        BrokerTrade("T2", "tag-O1", "B2", 10, 10_000, SENT_AT + 2),
    )
    d = _decide([_sent().snapshot()], rows, trades, after_ns=SECOND)
    assert (d.verdict, d.actions) == (Verdict.DUPLICATE, ())
    assert "B2 10" in d.alert
    assert [r.trade_id for r in d.reports if r.trade_id] == ["T1"]


def test_broker_orders_sharing_a_tag_that_is_not_ours_are_all_returned_unmatched() -> None:
    rows = [_row("B7", tag="zz"), _row("B8", tag="zz")]
    result = reconcile([], rows, [], set(), now_ns=SENT_AT)
    assert result.unmatched == tuple(rows)


# --- any interleaving ----------------------------------------------------------------------

OUTCOMES = st.sampled_from(["acknowledged", "answer_lost_booked", "answer_lost_not_booked"])


@settings(max_examples=300, deadline=None)
@given(
    outcome=OUTCOMES,
    appear_after_s=st.integers(0, 200),
    duplicate_after_s=st.one_of(st.none(), st.integers(0, 200)),
    window_s=st.integers(0, 120),
    looks_s=st.lists(st.integers(0, 300), min_size=1, max_size=8),
)
def test_never_declared_not_placed_while_the_tag_is_in_the_book_and_never_placed_twice(
    outcome: str,
    appear_after_s: int,
    duplicate_after_s: int | None,
    window_s: int,
    looks_s: list[int],
) -> None:
    order = _sent()
    # The venue: the broker orders carrying our tag, each appearing at its time. Only the one
    # place call ever made can put our order there; a duplicate stands for the broker's (or a
    # stray process's) second copy.
    venue: list[tuple[int, BrokerOrder]] = []
    if outcome == "acknowledged":
        venue.append((0, _row("B1")))
        order.apply(E.ACCEPT, SENT_AT)
        order.broker_order_id = BrokerOrderId("B1")
    elif outcome == "answer_lost_booked":
        venue.append((appear_after_s * SECOND, _row("B1")))
    if duplicate_after_s is not None:
        venue.append((duplicate_after_s * SECOND, _row("B2")))
    cancelled: set[str] = set()
    cfg = ReconcileConfig(confirm_window_ns=window_s * SECOND)
    for look in sorted(looks_s):
        now = SENT_AT + look * SECOND
        book = [
            BrokerOrder(b.tag, b.broker_order_id, S.CANCELLED, b.quantity, 0)
            if b.broker_order_id in cancelled
            else b
            for at, b in venue
            if at <= look * SECOND
        ]
        (d,) = reconcile([order.snapshot()], book, [], set(), now_ns=now, config=cfg).decisions
        if book:
            assert d.verdict is not Verdict.NEVER_SENT, (d, book)
        if len(book) > 1:
            assert d.verdict is Verdict.DUPLICATE
        for report in d.reports:
            if report.broker_order_id and order.broker_order_id is None:
                order.broker_order_id = BrokerOrderId(report.broker_order_id)
            if report.event is E.ACCEPT and order.is_terminal:
                continue  # the order manager drops an acknowledgement of a closed order
            order.apply(report.event, report.ts_ns, report.reason)
        cancelled.update(a.broker_order_id for a in d.actions)
        still_open = [b for b in book if b.is_open and b.broker_order_id not in cancelled]
        # Whatever reconciliation decided, at most one broker order trades for our tag.
        assert len(still_open) <= 1
        if order.is_terminal and order.broker_order_id is None:
            assert still_open == []  # closed here, so nothing may trade at the broker


def test_a_duplicate_whose_own_order_disagrees_with_us_stays_unresolved_and_is_still_reported() -> (
    None
):
    rows = [BrokerOrder("tag-O1", "B1", S.OPEN, 20, 0), _row("B2")]
    order = _sent()
    order.apply(E.ACCEPT, SENT_AT + 1)
    order.broker_order_id = BrokerOrderId("B1")
    d = _decide([order.snapshot()], rows, after_ns=SECOND)
    assert (d.verdict, d.reports) == (Verdict.UNRESOLVED, ())
    assert "for 10 here but 20 at the broker" in d.note
    assert [a.broker_order_id for a in d.actions] == ["B2"]
    assert "B2" in d.alert
