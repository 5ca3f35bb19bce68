"""An order is placed at most once, against the simulator on loopback (issue #9, item 2).

A place whose answer is lost (the simulator's timeout and 5xx faults) is never sent again and
never reported rejected: it stays SUBMITTED, unconfirmed, until the books say what happened.
The simulator answers 5xx before booking anything, so "the broker got it after all" is played
by the test placing the same tagged body itself, later: a delayed appearance. A second order
carrying our tag is a duplicate, seen and cancelled. Each test counts the simulator's orders
with the tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone import orders_api
from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.domain.orders import OrderSnapshot
from algo_trading.engine.reconciliation import ReconcileConfig, Verdict
from algo_trading.market.instruments import InstrumentMaster

from .conftest import MovingClock, Sink, adapter_config, with_faults
from .helpers import make_broker, orders_with_tag, sent_order

WINDOW = ReconcileConfig(confirm_window_ns=30 * 1_000_000_000)


@pytest.fixture
def http(server: Any) -> Iterator[AngelOneHttp]:
    """One order-book read after a lost answer: the later looks are what these tests are about."""
    with AngelOneHttp(adapter_config(server, place_lookup_attempts=1)) as client:
        yield client


def _fail_next_place(session: AngelOneSession, server: Any, **faults: Any) -> None:
    """Inject `faults` for the next placeOrder only, as a transient outage would be."""
    real = session.send_once

    def send_once(name: str, body: Any) -> Any:
        try:
            return real(name, body)
        finally:
            with_faults(server)
            session.send_once = real  # type: ignore[method-assign]

    with_faults(server, **faults)
    session.send_once = send_once  # type: ignore[method-assign]


def _broker_places_it_late(
    session: AngelOneSession, master: InstrumentMaster, order: OrderSnapshot
) -> str:
    """The broker books our order after all: the same body, the same tag, placed once."""
    inst = master.by_symbol(order.symbol)
    data = session.call("place", orders_api.place_body(order, inst, order.tag, "NORMAL"))
    return orders_api.place_ids("place", data)[0]


def _later(clock: MovingClock, seconds: int) -> None:
    clock.jump_to(dt.datetime.fromtimestamp(clock.now_ns() / 1e9 + seconds, tz=dt.UTC))


def _lost_5xx(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> tuple[AngelOneBroker, Sink, OrderSnapshot]:
    session.login()
    broker, sink = make_broker(session, master, clock, reconcile_config=WINDOW)
    order = sent_order()
    _fail_next_place(session, server, error_rate=1.0, error_status=503)
    broker.submit(order)
    return broker, sink, order


def test_a_place_answered_5xx_is_sent_once_and_stays_submitted_not_rejected(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    assert broker.place_requests == 1
    assert sink.events(order.client_order_id) == []  # no REJECT, no ACCEPT: unconfirmed
    assert list(broker.unconfirmed()) == [order.client_order_id]
    assert orders_with_tag(session, order.tag) == []
    result = broker.reconcile()
    assert result is not None
    assert result.by_order()[order.client_order_id].verdict is Verdict.UNCONFIRMED
    assert broker.place_requests == 1
    assert orders_with_tag(session, order.tag) == []


def test_a_place_with_no_trace_past_the_window_is_declared_not_placed_once(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    _later(clock, 31)
    result = broker.reconcile()
    assert result is not None
    assert result.by_order()[order.client_order_id].verdict is Verdict.NEVER_SENT
    assert sink.events(order.client_order_id) == ["CANCEL"]
    assert broker.unconfirmed() == {}
    assert broker.reconcile() is not None
    assert sink.events(order.client_order_id) == ["CANCEL"]
    assert (broker.place_requests, orders_with_tag(session, order.tag)) == (1, [])


def test_a_poll_loop_alone_declares_an_order_not_placed_once_the_window_has_passed(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    broker.poll()
    assert sink.events(order.client_order_id) == []
    _later(clock, 31)
    broker.poll()
    assert sink.events(order.client_order_id) == ["CANCEL"]
    assert (broker.place_requests, orders_with_tag(session, order.tag)) == (1, [])


def test_an_order_that_appears_late_inside_the_window_is_adopted_and_not_placed_again(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    bid = _broker_places_it_late(session, master, order)
    _later(clock, 20)
    result = broker.reconcile()
    assert result is not None
    assert result.by_order()[order.client_order_id].verdict is Verdict.ACKNOWLEDGED
    reports = [r for r in sink.reports if r.client_order_id == order.client_order_id]
    assert [(r.event.value, r.broker_order_id) for r in reports] == [("ACCEPT", bid)]
    assert broker.place_requests == 1
    assert [r.order_id for r in orders_with_tag(session, order.tag)] == [bid]


def test_the_order_stream_adopts_a_late_appearance_too(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    bid = _broker_places_it_late(session, master, order)
    broker.poll()
    assert sink.events(order.client_order_id) == ["ACCEPT"]
    assert broker.unconfirmed() == {}
    assert [r.order_id for r in orders_with_tag(session, order.tag)] == [bid]


def test_after_a_restart_an_unconfirmed_order_is_followed_and_adopted_not_placed_again(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    before, _, order = _lost_5xx(session, master, clock, server)
    sent_ns = before.unconfirmed()[order.client_order_id]
    after, sink = make_broker(session, master, clock, reconcile_config=WINDOW)  # a new process
    after.follow(order, sent_ns=sent_ns)
    assert after.unconfirmed() == {order.client_order_id: sent_ns}
    bid = _broker_places_it_late(session, master, order)
    result = after.reconcile()
    assert result is not None
    assert result.by_order()[order.client_order_id].verdict is Verdict.ACKNOWLEDGED
    assert [(r.event.value, r.broker_order_id) for r in sink.reports] == [("ACCEPT", bid)]
    assert (before.place_requests, after.place_requests) == (1, 0)
    assert [r.order_id for r in orders_with_tag(session, order.tag)] == [bid]


def test_an_order_appearing_after_it_was_declared_not_placed_is_cancelled_with_an_alert(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    _later(clock, 31)
    broker.reconcile()
    bid = _broker_places_it_late(session, master, order)
    result = broker.reconcile()
    assert result is not None
    decision = result.by_order()[order.client_order_id]
    assert decision.verdict is Verdict.ADOPTED_LATE
    assert [a.broker_order_id for a in result.actions] == [bid]
    assert any(bid in alert for alert in broker.alerts)
    (row,) = orders_with_tag(session, order.tag)
    assert (row.order_id, row.status.value) == (bid, "CANCELLED")
    assert sink.events(order.client_order_id) == ["CANCEL"]
    assert broker.place_requests == 1


def test_a_place_that_times_out_is_adopted_from_the_book_and_never_sent_twice(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    session.login()
    broker, sink = make_broker(session, master, clock, reconcile_config=WINDOW)
    order = sent_order()
    # The simulator books the order, then answers after 3 s; the client gives up after 2 s.
    _fail_next_place(session, server, place_order_latency_ms=3000)
    broker.submit(order)
    (row,) = orders_with_tag(session, order.tag)
    assert sink.events(order.client_order_id) == ["ACCEPT"]
    assert sink.reports[0].broker_order_id == row.order_id
    result = broker.reconcile()
    assert result is not None
    assert broker.place_requests == 1
    assert len(orders_with_tag(session, order.tag)) == 1


def _duplicated(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, **kwargs: Any
) -> tuple[AngelOneBroker, Sink, OrderSnapshot, str, str]:
    session.login()
    broker, sink = make_broker(session, master, clock, **kwargs)
    order = sent_order()
    broker.submit(order)
    (first,) = orders_with_tag(session, order.tag)
    extra = _broker_places_it_late(session, master, order)
    return broker, sink, order, first.order_id, extra


def test_a_second_broker_order_with_our_tag_is_a_duplicate_and_is_cancelled(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink, order, first, extra = _duplicated(session, master, clock)
    result = broker.reconcile()
    assert result is not None
    decision = result.by_order()[order.client_order_id]
    assert decision.verdict is Verdict.DUPLICATE
    assert [d.broker_order_id for d in decision.duplicates] == [extra]
    assert any(extra in alert for alert in broker.alerts)
    alerts = len(broker.alerts)
    assert broker.reconcile() is not None
    assert len(broker.alerts) == alerts  # raised once, not on every sweep
    statuses = {r.order_id: r.status.value for r in orders_with_tag(session, order.tag)}
    assert statuses == {first: "OPEN", extra: "CANCELLED"}
    assert sink.events(order.client_order_id) == ["ACCEPT"]  # the extra is not ours to report


def test_a_poll_loop_alone_cancels_a_duplicate(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink, order, first, extra = _duplicated(session, master, clock)
    broker.poll()
    statuses = {r.order_id: r.status.value for r in orders_with_tag(session, order.tag)}
    assert statuses == {first: "OPEN", extra: "CANCELLED"}
    assert sink.events(order.client_order_id) == ["ACCEPT"]


def test_the_extra_order_is_left_alone_when_cancelling_duplicates_is_off(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    keep = ReconcileConfig(cancel_duplicates=False)
    broker, _, order, first, extra = _duplicated(session, master, clock, reconcile_config=keep)
    result = broker.reconcile()
    assert result is not None
    assert result.by_order()[order.client_order_id].verdict is Verdict.DUPLICATE
    statuses = {r.order_id: r.status.value for r in orders_with_tag(session, order.tag)}
    assert statuses == {first: "OPEN", extra: "OPEN"}


def test_two_late_copies_of_an_unconfirmed_order_leave_one_adopted_and_one_cancelled(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink, order = _lost_5xx(session, master, clock, server)
    ids = {_broker_places_it_late(session, master, order) for _ in range(2)}
    result = broker.reconcile()
    assert result is not None
    decision = result.by_order()[order.client_order_id]
    assert decision.verdict is Verdict.DUPLICATE
    (adopted,) = [r.broker_order_id for r in sink.reports if r.event.value == "ACCEPT"]
    open_ = [r.order_id for r in orders_with_tag(session, order.tag) if r.status.value == "OPEN"]
    assert open_ == [adopted]
    assert adopted in ids
    assert broker.place_requests == 1
