"""The order lifecycle table (domain/orders.py): every step moves as TRANSITIONS says, or is
refused with a typed error and leaves the order as it was."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import (
    PENDING_STATES,
    RESUMING,
    TERMINAL_STATES,
    TRANSITIONS,
    ClientOrderId,
    IllegalTransitionError,
    Order,
    OrderError,
    OrderEvent,
    OrderSide,
    OrderStatus,
    OrderType,
    StrategyId,
)
from tests.support.builders import make_order

QUANTITY = 10
PRICE = 10_000

# How to reach each state from NEW; ints are fills of that many units.
PATHS: dict[OrderStatus, list[OrderEvent | int]] = {
    OrderStatus.NEW: [],
    OrderStatus.SUBMITTED: [OrderEvent.SUBMIT],
    OrderStatus.OPEN: [OrderEvent.SUBMIT, OrderEvent.ACCEPT],
    OrderStatus.TRIGGER_PENDING: [OrderEvent.SUBMIT, OrderEvent.ACCEPT_TRIGGER_PENDING],
    OrderStatus.PARTIALLY_FILLED: [OrderEvent.SUBMIT, OrderEvent.ACCEPT, 4],
    OrderStatus.FILLED: [OrderEvent.SUBMIT, OrderEvent.ACCEPT, QUANTITY],
    OrderStatus.CANCELLED: [OrderEvent.SUBMIT, OrderEvent.CANCEL],
    OrderStatus.REJECTED: [OrderEvent.REJECT],
    OrderStatus.EXPIRED: [OrderEvent.SUBMIT, OrderEvent.EXPIRE],
    OrderStatus.PENDING_CANCEL: [OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.CANCEL_REQUEST],
    OrderStatus.PENDING_MODIFY: [OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.MODIFY_REQUEST],
}
WORKING = {
    OrderStatus.SUBMITTED,
    OrderStatus.OPEN,
    OrderStatus.TRIGGER_PENDING,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.PENDING_MODIFY,
}
LATE_FILL_ENDS = (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
FILL_EVENTS = (OrderEvent.FILL, OrderEvent.PARTIAL_FILL)


def order_in(status: OrderStatus) -> Order:
    order = make_order(quantity=QUANTITY)
    for step in PATHS[status]:
        if isinstance(step, int):
            order.apply_fill(step, PRICE, 1)
        else:
            order.apply(step, 1)
    assert order.status is status
    return order


# --- the table itself --------------------------------------------------------------------


def test_from_a_terminal_state_only_a_late_fill_moves_and_only_to_a_terminal_state() -> None:
    rows = {key: to for key, to in TRANSITIONS.items() if key[0] in TERMINAL_STATES}
    assert {event for _, event in rows} == set(FILL_EVENTS)
    assert all(to in TERMINAL_STATES for to in rows.values())
    assert {state for state, _ in rows} == set(LATE_FILL_ENDS)  # FILLED has nothing left


def test_only_a_pending_request_resumes_and_only_its_answer_ends_the_wait() -> None:
    assert {state for state, _ in RESUMING} == set(PENDING_STATES)
    assert not any(key in TRANSITIONS for key in RESUMING)


def test_every_state_is_reachable_from_new_through_the_table() -> None:
    reached = {OrderStatus.NEW}
    frontier = [OrderStatus.NEW]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderStatus)


def _expected(order: Order, event: OrderEvent) -> OrderStatus | None:
    if (order.status, event) in RESUMING:
        return order.prior_status
    return TRANSITIONS.get((order.status, event))


@pytest.mark.parametrize(
    ("status", "event"), list(itertools.product(OrderStatus, OrderEvent)), ids=str
)
def test_each_state_and_event_pair_moves_by_the_table_or_raises(
    status: OrderStatus, event: OrderEvent
) -> None:
    order = order_in(status)
    before = order.snapshot()
    expected = _expected(order, event)
    assert order.next_status(event) is expected  # asking changes nothing
    assert order.snapshot() == before
    if expected is None:
        with pytest.raises(IllegalTransitionError) as raised:
            order.apply(event, 99)
        assert (raised.value.order_id, raised.value.state, raised.value.event) == (
            order.client_order_id,
            status.value,
            event.value,
        )
        assert order.snapshot() == before
    else:
        assert order.apply(event, 99) is expected
        assert order.status is expected
        assert order.updated_ns == 99


@pytest.mark.parametrize("status", sorted(TERMINAL_STATES), ids=str)
def test_a_terminal_order_accepts_no_event_but_a_late_fill(status: OrderStatus) -> None:
    order = order_in(status)
    before = order.snapshot()
    for event in OrderEvent:
        if event not in FILL_EVENTS:
            with pytest.raises(IllegalTransitionError):
                order.apply(event, 99)
    assert order.snapshot() == before
    assert order.is_terminal
    assert not order.is_working


@pytest.mark.parametrize("status", LATE_FILL_ENDS, ids=str)
def test_a_fill_after_the_order_ended_is_booked_and_the_whole_remainder_makes_it_filled(
    status: OrderStatus,
) -> None:
    # Angel One fills in the instant before a cancel lands: the trade book is the truth.
    order = order_in(status)
    assert order.apply_fill(3, PRICE, 98) is status
    assert order.filled_quantity == 3
    assert order.apply_fill(order.remaining, PRICE, 99) is OrderStatus.FILLED
    assert order.filled_quantity == QUANTITY


@pytest.mark.parametrize(
    ("start", "asked", "answer"),
    [
        (OrderStatus.OPEN, OrderEvent.CANCEL_REQUEST, OrderEvent.CANCEL_REJECT),
        (OrderStatus.TRIGGER_PENDING, OrderEvent.CANCEL_REQUEST, OrderEvent.CANCEL_REJECT),
        (OrderStatus.PARTIALLY_FILLED, OrderEvent.MODIFY_REQUEST, OrderEvent.MODIFY),
        (OrderStatus.TRIGGER_PENDING, OrderEvent.MODIFY_REQUEST, OrderEvent.MODIFY_REJECT),
    ],
    ids=str,
)
def test_a_refused_or_confirmed_request_returns_the_order_to_its_working_state(
    start: OrderStatus, asked: OrderEvent, answer: OrderEvent
) -> None:
    order = order_in(start)
    order.apply(asked, 5)
    assert order.status in PENDING_STATES
    assert order.apply(answer, 6) is start


def test_what_happens_while_a_request_waits_moves_the_state_it_returns_to() -> None:
    order = order_in(OrderStatus.TRIGGER_PENDING)
    order.apply(OrderEvent.CANCEL_REQUEST, 5)
    order.apply(OrderEvent.TRIGGER, 6)
    order.apply_fill(2, PRICE, 7)
    assert order.status is OrderStatus.PENDING_CANCEL
    assert order.apply(OrderEvent.CANCEL_REJECT, 8) is OrderStatus.PARTIALLY_FILLED


def test_a_fill_of_the_remainder_while_a_cancel_waits_fills_the_order() -> None:
    order = order_in(OrderStatus.PENDING_CANCEL)
    assert order.apply_fill(QUANTITY, PRICE, 9) is OrderStatus.FILLED


# --- any sequence of events ------------------------------------------------------------

# An event applied as is, or a fill of that many units (out of range ones included).
STEPS = st.one_of(st.sampled_from(OrderEvent), st.integers(min_value=-2, max_value=QUANTITY + 2))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(STEPS, max_size=25))
def test_any_sequence_of_events_and_fills_moves_by_the_table_or_is_refused_unchanged(
    steps: list[OrderEvent | int],
) -> None:
    order = make_order(quantity=QUANTITY)
    for ts_ns, arg in enumerate(steps, start=1):
        before = order.snapshot()
        if isinstance(arg, int):
            if arg <= 0 or arg > order.remaining:
                with pytest.raises(OrderError):
                    order.apply_fill(arg, PRICE, ts_ns)
                assert order.snapshot() == before
                continue
            event = OrderEvent.FILL if arg == order.remaining else OrderEvent.PARTIAL_FILL
        else:
            event = arg
        expected = _expected(order, event)
        if expected is None:
            with pytest.raises(IllegalTransitionError) as raised:
                _step(order, arg, ts_ns)
            assert raised.value.order_id == order.client_order_id
            assert raised.value.state == before.status.value
            assert raised.value.event == event.value
            assert order.snapshot() == before
        else:
            assert _step(order, arg, ts_ns) is expected
            assert order.status is expected
            assert order.updated_ns == ts_ns
            filled = arg if isinstance(arg, int) else 0
            assert order.filled_quantity == before.filled_quantity + filled


def _step(order: Order, arg: OrderEvent | int, ts_ns: int) -> OrderStatus:
    if isinstance(arg, int):
        return order.apply_fill(arg, PRICE, ts_ns)
    return order.apply(arg, ts_ns)


FILLS_AND_OTHER_EVENTS = st.one_of(
    st.sampled_from([e for e in OrderEvent if e not in FILL_EVENTS]),
    st.tuples(st.integers(min_value=1, max_value=QUANTITY), st.integers(1, 10**7)),
)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(FILLS_AND_OTHER_EVENTS, max_size=25))
def test_when_fills_go_through_apply_fill_the_filled_quantity_and_status_agree(
    steps: list[OrderEvent | tuple[int, int]],
) -> None:
    order = make_order(quantity=QUANTITY)
    value = 0
    for ts_ns, step in enumerate(steps, start=1):
        try:
            if isinstance(step, tuple):
                quantity, price = step
                order.apply_fill(quantity, price, ts_ns)
                value += quantity * price
            else:
                order.apply(step, ts_ns)
        except (IllegalTransitionError, OrderError):
            pass  # refused; the invariants below must hold all the same
        assert 0 <= order.filled_quantity <= order.quantity
        assert (order.status is OrderStatus.FILLED) == (order.filled_quantity == order.quantity)
        assert order.fill_value_paise == value
        assert order.is_terminal == (order.status in TERMINAL_STATES)
        assert order.is_working == (order.status in WORKING)


# --- fills -------------------------------------------------------------------------------


def test_a_fill_short_of_the_remainder_is_partial_and_the_last_one_completes() -> None:
    order = order_in(OrderStatus.OPEN)
    assert order.apply_fill(3, 10_005, 2) is OrderStatus.PARTIALLY_FILLED
    assert order.apply_fill(7, 10_010, 3) is OrderStatus.FILLED
    assert order.filled_quantity == 10
    assert order.fill_value_paise == 3 * 10_005 + 7 * 10_010
    assert order.remaining == 0


@pytest.mark.parametrize("quantity", [0, -1, 7])
def test_an_overfill_or_a_non_positive_fill_is_refused_without_changing_the_order(
    quantity: int,
) -> None:
    order = order_in(OrderStatus.OPEN)
    order.apply_fill(4, PRICE, 2)
    before = order.snapshot()
    with pytest.raises(OrderError, match=order.client_order_id):
        order.apply_fill(quantity, PRICE, 3)
    assert order.snapshot() == before


def test_a_reason_is_kept_until_an_event_brings_a_new_one() -> None:
    order = make_order()
    order.apply(OrderEvent.SUBMIT, 1, "sent")
    order.apply(OrderEvent.ACCEPT, 2)
    assert order.reason == "sent"
    order.apply(OrderEvent.REJECT, 3, "price band")
    assert order.reason == "price band"


def test_a_snapshot_is_a_frozen_copy_that_later_changes_do_not_reach() -> None:
    order = make_order()
    snap = order.snapshot()
    order.apply(OrderEvent.SUBMIT, 5)
    assert snap.status is OrderStatus.NEW
    assert snap.updated_ns == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.status = OrderStatus.FILLED  # type: ignore[misc]


# --- construction ------------------------------------------------------------------------

VALID = [
    (OrderType.MARKET, None, None),
    (OrderType.LIMIT, 10_000, None),
    (OrderType.STOPLOSS_MARKET, None, 9_900),
    (OrderType.STOPLOSS_LIMIT, 9_850, 9_900),
]
INVALID = [
    (OrderType.MARKET, 10_000, None),  # a market order takes no price
    (OrderType.MARKET, None, 9_900),  # nor a trigger
    (OrderType.LIMIT, None, None),  # a limit needs its price
    (OrderType.LIMIT, 0, None),
    (OrderType.LIMIT, -5, None),
    (OrderType.LIMIT, 10_000, 9_900),  # and takes no trigger
    (OrderType.STOPLOSS_MARKET, None, None),  # a stop needs its trigger
    (OrderType.STOPLOSS_MARKET, None, 0),
    (OrderType.STOPLOSS_MARKET, 9_850, 9_900),  # a stop-market takes no limit price
    (OrderType.STOPLOSS_LIMIT, 9_850, None),
    (OrderType.STOPLOSS_LIMIT, None, 9_900),
]


def _build(
    order_type: OrderType, price: int | None, trigger: int | None, quantity: int = 10
) -> Order:
    return Order(
        ClientOrderId("O1"),
        StrategyId("s"),
        "SBIN-EQ",
        OrderSide.SELL,
        quantity,
        order_type,
        price,
        trigger,
    )


@pytest.mark.parametrize(("order_type", "price", "trigger"), VALID)
def test_a_well_formed_order_starts_new_with_nothing_filled(
    order_type: OrderType, price: int | None, trigger: int | None
) -> None:
    order = _build(order_type, price, trigger)
    assert order.status is OrderStatus.NEW
    assert (order.filled_quantity, order.remaining) == (0, 10)
    assert (order.price_paise, order.trigger_price_paise) == (price, trigger)


@pytest.mark.parametrize(("order_type", "price", "trigger"), INVALID)
def test_an_order_whose_prices_do_not_fit_its_type_is_refused(
    order_type: OrderType, price: int | None, trigger: int | None
) -> None:
    with pytest.raises(OrderError, match="O1"):
        _build(order_type, price, trigger)


@pytest.mark.parametrize("quantity", [0, -10])
def test_an_order_of_no_or_negative_quantity_is_refused(quantity: int) -> None:
    with pytest.raises(OrderError, match="quantity"):
        _build(OrderType.MARKET, None, None, quantity)


def test_a_pending_order_read_back_without_its_prior_state_resumes_as_resting() -> None:
    order = make_order(quantity=QUANTITY)
    order.status = OrderStatus.PENDING_CANCEL  # as storage rebuilds it: no prior state kept
    assert order.apply(OrderEvent.CANCEL_REJECT, 5) is OrderStatus.OPEN
    order.status = OrderStatus.PENDING_MODIFY
    order.filled_quantity = 3
    order.prior_status = OrderStatus.NEW
    assert order.apply(OrderEvent.MODIFY_REJECT, 6) is OrderStatus.PARTIALLY_FILLED
