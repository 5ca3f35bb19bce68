"""The simulated broker's answer to a change (adapters/brokers/simulated): new terms on the
resting order and a MODIFY report, or MODIFY_REJECT and the old terms when it cannot."""

from __future__ import annotations

from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.domain import Bar, ClientOrderId, ExecutionReport, OrderEvent, OrderType
from algo_trading.domain.instruments import equity
from algo_trading.engine import SimulatedClock
from tests.support.builders import SYMBOL, ist_ns, make_order

T0 = ist_ns("2025-01-06", "10:00")


def broker_with_a_resting_buy(limit: int) -> tuple[SimulatedBroker, list[ExecutionReport], str]:
    reports: list[ExecutionReport] = []
    broker = SimulatedBroker(SimulatedClock(T0), lambda s: equity(s))
    broker.connect(reports.append)
    order = make_order(quantity=10, order_type=OrderType.LIMIT, price_paise=limit)
    order.apply(OrderEvent.SUBMIT, T0)
    broker.submit(order.snapshot())
    return broker, reports, order.client_order_id


def test_a_changed_limit_is_what_the_next_bar_meets() -> None:
    broker, reports, coid = broker_with_a_resting_buy(9_000)
    broker.modify(ClientOrderId(coid), price_paise=10_000)
    assert reports[-1].event is OrderEvent.MODIFY
    broker.on_bar(Bar(SYMBOL, T0 + 60 * 10**9, 10_000, 10_050, 9_950, 10_000, 100))
    assert [(r.event, r.fill_price_paise) for r in reports[-1:]] == [(OrderEvent.FILL, 10_000)]


def test_a_change_to_an_order_no_longer_resting_is_refused_with_a_report() -> None:
    broker, reports, coid = broker_with_a_resting_buy(9_000)
    broker.cancel(ClientOrderId(coid))
    broker.modify(ClientOrderId(coid), price_paise=9_100)
    assert [r.event for r in reports] == [
        OrderEvent.ACCEPT,
        OrderEvent.CANCEL,
        OrderEvent.MODIFY_REJECT,
    ]


def test_an_off_tick_change_is_refused_and_the_old_terms_stand() -> None:
    broker, reports, coid = broker_with_a_resting_buy(9_000)
    broker.modify(ClientOrderId(coid), price_paise=9_001)
    assert reports[-1].event is OrderEvent.MODIFY_REJECT
    broker.on_bar(Bar(SYMBOL, T0 + 60 * 10**9, 9_500, 9_600, 9_400, 9_500, 100))
    assert reports[-1].event is OrderEvent.MODIFY_REJECT  # 9,000 still rests below the bar
