"""Injected faults: under each one no order is duplicated or lost, and the adapter recovers by
itself (issue #5). The simulator books a timed-out order before it answers, answers 5xx before
it does anything, and answers a rate-limit 403 before it does anything (simulator/faults.py).
A place answered 5xx, late appearances and duplicates: test_at_most_once.py."""

from __future__ import annotations

from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import ROUTES
from algo_trading.adapters.brokers.angelone.errors import BrokerUnavailableError
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.market.instruments import InstrumentMaster

from .conftest import MovingClock, adapter_config, credentials, with_faults
from .helpers import make_broker, orders_with_tag, sent_order


def test_a_place_that_times_out_is_found_by_its_tag_and_never_sent_twice(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    session.login()
    with_faults(server, place_order_latency_ms=3000)  # the client gives up after 2 s
    broker, sink = make_broker(session, master, clock)
    order = sent_order()
    broker.submit(order)
    with_faults(server)
    assert broker.place_requests == 1
    assert len(orders_with_tag(session, order.tag)) == 1
    reports = [r for r in sink.reports if r.client_order_id == order.client_order_id]
    assert reports[0].event.value == "ACCEPT"
    assert reports[0].broker_order_id == orders_with_tag(session, order.tag)[0].order_id
    assert [r.event.value for r in reports].count("ACCEPT") == 1


def test_a_place_is_never_retried_by_the_http_layer_on_server_trouble(
    session: AngelOneSession, server: Any
) -> None:
    session.login()
    before = session.http.attempts
    with_faults(server, error_rate=1.0)
    with pytest.raises(BrokerUnavailableError):
        session.http.request(ROUTES["place"], headers=session.headers(), body={"variety": "NORMAL"})
    assert session.http.attempts == before + 1


def test_reads_answered_5xx_are_retried_with_backoff_until_they_succeed(
    session: AngelOneSession, server: Any
) -> None:
    session.login()
    # The simulator's faults are drawn from its seeded generator: with seed 5 at 0.7 the
    # first draw fails, so at least one read needs a retry.
    with_faults(server, error_rate=0.7)
    funds = [AngelOneAccount(session).funds() for _ in range(4)]
    assert all(f.net_paise > 0 for f in funds)
    assert session.http.retries > 0


def test_rate_limit_answers_are_backed_off_and_the_call_goes_through(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    session.login()
    with_faults(server, rate_limit_rate=0.5)
    broker, sink = make_broker(session, master, clock)
    orders = [sent_order() for _ in range(4)]
    for order in orders:
        broker.submit(order)
    AngelOneAccount(session).funds()
    with_faults(server)
    assert session.http.retries + broker.place_requests > len(orders)
    for order in orders:
        assert len(orders_with_tag(session, order.tag)) == 1
        assert sink.events(order.client_order_id)[0] == "ACCEPT"


def test_the_client_side_limits_keep_a_burst_under_the_servers_limits(
    server: Any, clock: MovingClock
) -> None:
    # Three order-book reads in a row: 1/s on both sides, so no 403 may come back, and with a
    # single attempt allowed a 403 would fail the read.
    with AngelOneHttp(adapter_config(server, retry_attempts=1)) as http:
        session = AngelOneSession(http, credentials(server.config), clock)
        books = [AngelOneAccount(session).order_book() for _ in range(3)]
        assert len(books) == 3
        assert http.retries == 0


def test_an_expired_session_mid_trading_logs_in_again_and_places_exactly_once(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    session.login()
    broker, sink = make_broker(session, master, clock)
    server.expire_sessions()
    order = sent_order()
    broker.submit(order)
    assert session.logins == 2
    assert len(orders_with_tag(session, order.tag)) == 1
    assert sink.events(order.client_order_id)[0] == "ACCEPT"
