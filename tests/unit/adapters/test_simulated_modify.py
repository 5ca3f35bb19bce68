"""The simulated broker's answer to a change (adapters/brokers/simulated): new terms on the
resting order and a MODIFY report, or MODIFY_REJECT and the old terms when it cannot."""

from __future__ import annotations

from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.adapters.brokers.simulated.funds import BuyingPower
from algo_trading.domain import Bar, ClientOrderId, ExecutionReport, OrderEvent, OrderType
from algo_trading.domain.instruments import equity
from algo_trading.domain.orders import ProductType
from algo_trading.engine import SimulatedClock
from algo_trading.market.margins import ANGEL_ONE_MARGINS
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


def _funded_broker_with_a_resting_buy(
    cash: int, limit: int, quantity: int
) -> tuple[SimulatedBroker, list[ExecutionReport], ClientOrderId]:
    reports: list[ExecutionReport] = []
    funds = BuyingPower(ANGEL_ONE_MARGINS, lambda: cash, {})
    broker = SimulatedBroker(SimulatedClock(T0), lambda s: equity(s), buying_power=funds)
    broker.connect(reports.append)
    order = make_order(
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price_paise=limit,
        product=ProductType.DELIVERY,  # 100 % of the value is blocked
    )
    order.apply(OrderEvent.SUBMIT, T0)
    broker.submit(order.snapshot())
    assert reports[-1].event is OrderEvent.ACCEPT
    return broker, reports, ClientOrderId(order.client_order_id)


def test_a_change_the_funds_cannot_carry_is_refused_like_a_placement() -> None:
    # ₹1,000 of cash; 10 at ₹90 blocks ₹900. A limit of ₹100.50 would need ₹1,005.
    broker, reports, coid = _funded_broker_with_a_resting_buy(100_000, 9_000, 10)
    broker.modify(coid, price_paise=10_050)
    assert reports[-1].event is OrderEvent.MODIFY_REJECT
    assert reports[-1].reason.startswith("INSUFFICIENT_FUNDS: BUY 10")
    assert "needs 100500 paise, 100000 paise available" in reports[-1].reason
    # Nor may the quantity grow past the funds; the old terms stand and still block ₹900.
    broker.modify(coid, quantity=12)
    assert reports[-1].event is OrderEvent.MODIFY_REJECT
    assert reports[-1].reason.startswith("INSUFFICIENT_FUNDS")
    resting = broker.matcher.get(coid)
    assert resting is not None
    assert (resting.remaining, resting.limit_paise) == (10, 9_000)
    assert broker.buying_power is not None
    assert broker.buying_power.free_paise() == 10_000


def test_a_change_within_the_funds_goes_through_and_its_block_follows_it() -> None:
    broker, reports, coid = _funded_broker_with_a_resting_buy(100_000, 9_000, 10)
    broker.modify(coid, quantity=11)  # 11 x ₹90 = ₹990 of ₹1,000
    assert reports[-1].event is OrderEvent.MODIFY
    assert broker.buying_power is not None
    assert broker.buying_power.free_paise() == 1_000
    broker.modify(coid, price_paise=8_000, quantity=5)  # less: never refused
    assert reports[-1].event is OrderEvent.MODIFY
    assert broker.buying_power.free_paise() == 100_000 - 5 * 8_000
    # A placement now sees the lower block: 7 more at ₹80 needs ₹560 of the ₹600 free.
    other = make_order(
        "O000002",
        quantity=7,
        order_type=OrderType.LIMIT,
        price_paise=8_000,
        product=ProductType.DELIVERY,
    )
    other.apply(OrderEvent.SUBMIT, T0)
    broker.submit(other.snapshot())
    assert reports[-1].event is OrderEvent.ACCEPT


def test_a_change_when_the_funds_fell_short_since_is_refused_only_if_it_asks_more() -> None:
    cash = [100_000]
    reports: list[ExecutionReport] = []
    funds = BuyingPower(ANGEL_ONE_MARGINS, lambda: cash[0], {})
    broker = SimulatedBroker(SimulatedClock(T0), lambda s: equity(s), buying_power=funds)
    broker.connect(reports.append)
    order = make_order(
        quantity=10, order_type=OrderType.LIMIT, price_paise=9_000, product=ProductType.DELIVERY
    )
    order.apply(OrderEvent.SUBMIT, T0)
    broker.submit(order.snapshot())
    cash[0] = 50_000  # the account lost money elsewhere: now beyond its funds
    coid = ClientOrderId(order.client_order_id)
    broker.modify(coid, price_paise=9_050)
    assert reports[-1].event is OrderEvent.MODIFY_REJECT
    broker.modify(coid, price_paise=8_950)  # blocks less than before: let through
    assert reports[-1].event is OrderEvent.MODIFY
