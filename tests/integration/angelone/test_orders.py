"""Orders through the Broker port against the simulator: placed with our tag, acknowledged
once, filled from the trade book once per fill id, cancelled, modified, rejected with a reason;
and the account's books."""

from __future__ import annotations

from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.errors import BrokerRejectedError
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.domain.orders import OrderSide, OrderType
from algo_trading.market.instruments import InstrumentMaster

from .conftest import MovingClock, wait_for
from .helpers import SYMBOL, ltp_paise, make_broker, orders_with_tag, sent_order


def test_a_market_order_is_tagged_acknowledged_once_and_filled_once(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink = make_broker(session, master, clock)
    order = sent_order(quantity=5)
    broker.submit(order)
    coid = order.client_order_id
    assert sink.events(coid)[0] == "ACCEPT"
    assert len(orders_with_tag(session, order.tag)) == 1

    def filled() -> bool:
        server.advance()
        broker.poll()
        return "FILL" in sink.events(coid)

    wait_for(filled, what="the fill")
    broker.poll()  # a second look at the same books reports nothing new
    fills = [r for r in sink.reports if r.client_order_id == coid and r.fill_quantity]
    assert sum(r.fill_quantity for r in fills) == 5
    assert len({r.trade_id for r in fills}) == len(fills)
    assert sink.events(coid).count("ACCEPT") == 1
    trades = AngelOneAccount(session).trade_book()
    assert {r.trade_id for r in fills} <= {t.fill_id for t in trades}


def test_a_resting_limit_order_is_cancelled_and_reported_cancelled_once(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock)
    price = (ltp_paise(session, master) * 98 // 100) // 10 * 10
    order = sent_order(order_type=OrderType.LIMIT, price_paise=price)
    broker.submit(order)
    broker.cancel(order.client_order_id)
    broker.poll()
    assert sink.events(order.client_order_id) == ["ACCEPT", "CANCEL"]
    assert broker.working() == []


def test_a_modified_limit_order_shows_its_new_price_in_the_book(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock)
    price = (ltp_paise(session, master) * 98 // 100) // 10 * 10
    order = sent_order(order_type=OrderType.LIMIT, price_paise=price, quantity=2)
    broker.submit(order)
    broker.modify(order.client_order_id, price_paise=price - 100)
    (row,) = orders_with_tag(session, order.tag)
    assert row.price_paise == price - 100
    assert sink.events(order.client_order_id) == ["ACCEPT"]
    broker.cancel(order.client_order_id)


def test_an_order_the_exchange_refuses_comes_back_as_a_reject_with_the_reason(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock)
    off_tick = (ltp_paise(session, master) * 98 // 100) // 10 * 10 + 3  # tick is 10 paise
    order = sent_order(order_type=OrderType.LIMIT, price_paise=off_tick)
    broker.submit(order)
    broker.poll()
    reports = [r for r in sink.reports if r.client_order_id == order.client_order_id]
    assert reports[-1].event.value == "REJECT"
    assert reports[-1].reason


def test_a_request_angel_refuses_is_a_reject_report_not_an_exception(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock, variety="NOSUCHVARIETY")
    order = sent_order()
    broker.submit(order)
    (report,) = [r for r in sink.reports if r.client_order_id == order.client_order_id]
    assert report.event.value == "REJECT"
    assert report.reason.startswith("AB")


def test_an_unknown_symbol_is_rejected_before_anything_is_sent(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock)
    order = sent_order(symbol="NOSUCH-EQ")
    broker.submit(order)
    assert sink.events(order.client_order_id) == ["REJECT"]
    assert broker.place_requests == 0


def test_positions_holdings_and_funds_are_read_in_paise(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, sink = make_broker(session, master, clock)
    order = sent_order(quantity=3, side=OrderSide.BUY)
    broker.submit(order)

    def filled() -> bool:
        server.advance()
        broker.poll()
        return "FILL" in sink.events(order.client_order_id)

    wait_for(filled, what="the fill")
    account = AngelOneAccount(session)
    positions = [p for p in account.positions() if p.symbol == SYMBOL]
    assert positions
    assert positions[0].net_quantity >= 3
    assert account.funds().net_paise > 0
    assert isinstance(account.holdings(), list)


def test_gtt_rules_are_created_listed_modified_and_cancelled(
    session: AngelOneSession, master: InstrumentMaster
) -> None:
    account = AngelOneAccount(session)
    inst = master.by_symbol(SYMBOL)
    price = (ltp_paise(session, master) * 90 // 100) // 10 * 10
    rule = account.gtt_create(
        inst,
        side="BUY",
        product="DELIVERY",
        price_paise=price,
        trigger_price_paise=price,
        quantity=1,
    )
    assert any(str(r.get("id")) == rule for r in account.gtt_list())
    assert (
        account.gtt_modify(
            rule, inst, price_paise=price - 100, trigger_price_paise=price - 100, quantity=2
        )
        == rule
    )
    assert account.gtt_cancel(rule, inst) == rule


def test_order_status_by_an_order_id_instead_of_the_uuid_is_a_typed_refusal(
    session: AngelOneSession,
) -> None:
    with pytest.raises(BrokerRejectedError) as info:
        AngelOneAccount(session).order_status("250304000000001")
    assert info.value.route.endswith("/details/")
