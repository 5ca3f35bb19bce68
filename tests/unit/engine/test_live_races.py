"""The engine on paths live trading walks every day (issue #9): late fills after a cancel, a
report the books cannot take, sliced orders that stay one order, books per strategy and
product, time that releases held orders without market data, and a read-only strategy view."""

from __future__ import annotations

import dataclasses

import pytest

from algo_trading.domain import (
    ClientOrderId,
    Exchange,
    ExecutionReport,
    Fill,
    Instrument,
    InstrumentToken,
    InstrumentType,
    OrderError,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    ProductType,
    Tick,
)
from algo_trading.engine import (
    NoDeliveryShort,
    RiskChain,
    SimulatedClock,
    TradingEngine,
)
from algo_trading.engine.squareoff import IntradaySquareOff
from algo_trading.market.throttle import OrderThrottle
from algo_trading.strategy.context import StrategyContext
from tests.support.builders import SYMBOL, ist_ns
from tests.support.fakes import FakeBroker, RecordingStrategy, RecordingTradeLog

CASH = 10**10
SECOND = 10**9
T0 = ist_ns("2025-01-06", "10:00")
NIFTY_FUT = Instrument(
    symbol="NIFTY26NOVFUT",
    exchange=Exchange.NFO,
    token=InstrumentToken("52000"),
    instrument_type=InstrumentType.FUTURE,
    tick_size_paise=10,
    lot_size=65,
    freeze_quantity=1_755,
)


def make_engine(
    *strategies: RecordingStrategy,
    log: RecordingTradeLog | None = None,
    risk: RiskChain | None = None,
    throttle: OrderThrottle | None = None,
    clock: SimulatedClock | None = None,
) -> tuple[TradingEngine, FakeBroker]:
    broker = FakeBroker()
    engine = TradingEngine(
        clock or SimulatedClock(T0),
        broker,
        starting_cash_paise=CASH,
        instruments=[NIFTY_FUT],
        trade_log=log,
        risk=risk,
        throttle=throttle,
    )
    for s in strategies or (RecordingStrategy(),):
        engine.add_strategy(s)
    engine.start()
    return engine, broker


def fill_report(coid: str, qty: int, price: int, trade_id: str) -> ExecutionReport:
    return ExecutionReport(
        coid, OrderEvent.FILL, T0, fill_quantity=qty, fill_price_paise=price, trade_id=trade_id
    )


# --- 1. the lifecycle under races -------------------------------------------------------


@pytest.mark.parametrize(
    "ending", [OrderEvent.CANCEL, OrderEvent.REJECT, OrderEvent.EXPIRE], ids=str
)
def test_a_fill_after_the_order_ended_is_booked_not_refused(ending: OrderEvent) -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    coid = strategy.buy(10)
    broker.accept(coid)
    strategy.cancel(coid)
    broker.event(coid, ending)
    broker.fill(coid, 10, 10_000, trade_id="T1")  # filled in the instant before the cancel
    engine.drain()
    assert engine.orders.orders[coid].status is OrderStatus.FILLED
    assert strategy.position() == 10
    assert [f.trade_id for f in engine.trade_log.fills] == ["T1"]  # type: ignore[attr-defined]
    assert engine.quarantined() == []


def test_a_partial_fill_while_a_cancel_waits_is_booked_and_the_cancel_then_ends_it() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    coid = strategy.buy(10)
    broker.accept(coid)
    strategy.cancel(coid)
    broker.fill(coid, 4, 10_000, trade_id="T1")
    engine.drain()
    assert engine.orders.orders[coid].status is OrderStatus.PENDING_CANCEL
    broker.event(coid, OrderEvent.CANCEL)
    engine.drain()
    order = engine.orders.orders[coid]
    assert (order.status, order.filled_quantity, strategy.position()) == (
        OrderStatus.CANCELLED,
        4,
        4,
    )


class FailingOnceLog(RecordingTradeLog):
    """A trade log whose first fill write fails (the database went away for a moment)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def record_fill(self, fill: Fill) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unavailable")
        super().record_fill(fill)


def test_a_trade_id_counts_as_seen_only_once_its_fill_was_applied() -> None:
    strategy = RecordingStrategy()
    log = FailingOnceLog()
    engine, broker = make_engine(strategy, log=log)
    coid = strategy.buy(10)
    broker.fill(coid, 10, 10_000, trade_id="T1")
    engine.drain()  # the write failed: nothing booked, nothing raised, order quarantined
    assert strategy.position() == 0
    assert engine.orders.orders[coid].filled_quantity == 0
    assert engine.quarantined() == [coid]
    broker.fill(coid, 10, 10_000, trade_id="T1")  # the same trade, delivered again
    engine.drain()
    assert strategy.position() == 10
    assert [f.trade_id for f in log.fills] == ["T1"]


def test_an_overfill_is_quarantined_with_its_report_and_never_raises() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    coid = strategy.buy(10)
    broker.fill(coid, 10, 10_000, trade_id="T1")
    broker.fill(coid, 5, 10_000, trade_id="T2")
    engine.drain()
    assert strategy.position() == 10
    (incident,) = engine.orders.incidents
    assert (incident.code, incident.report.trade_id) == ("REFUSED_REPORT", "T2")
    assert engine.quarantined() == [coid]
    other = strategy.buy(1, NIFTY_FUT.symbol)  # another symbol is not held up
    assert engine.orders.orders[other].status is OrderStatus.SUBMITTED


def test_a_refused_cancel_returns_the_order_to_work_and_a_second_cancel_may_go() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    coid = strategy.buy(10)
    broker.accept(coid)
    strategy.cancel(coid)
    strategy.cancel(coid)
    assert broker.cancelled == [coid]
    broker.event(coid, OrderEvent.CANCEL_REJECT)
    engine.drain()
    assert engine.orders.orders[coid].status is OrderStatus.OPEN
    strategy.cancel(coid)
    assert broker.cancelled == [coid, coid]


def test_a_confirmed_change_takes_the_new_terms_and_a_refused_one_keeps_the_old() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    coid = strategy.buy(10, limit_paise=10_000)
    broker.accept(coid)
    engine.drain()
    assert strategy.modify(coid, limit_paise=10_100) == ""
    assert engine.orders.orders[coid].status is OrderStatus.PENDING_MODIFY
    assert broker.modified == [(coid, None, 10_100, None)]
    broker.event(coid, OrderEvent.MODIFY)
    engine.drain()
    order = engine.orders.orders[coid]
    assert (order.status, order.price_paise) == (OrderStatus.OPEN, 10_100)
    strategy.modify(coid, limit_paise=10_200)
    broker.event(coid, OrderEvent.MODIFY_REJECT)
    engine.drain()
    assert (order.status, order.price_paise) == (OrderStatus.OPEN, 10_100)


# --- 3. parent orders -------------------------------------------------------------------


def sliced() -> tuple[TradingEngine, FakeBroker, RecordingStrategy, ClientOrderId]:
    strategy = RecordingStrategy(symbols=(NIFTY_FUT.symbol,), strategy_id="fut")
    engine, broker = make_engine(strategy)
    parent = strategy.buy(65 * 60, limit_paise=2_300_000)  # 1,755 + 1,755 + 390
    return engine, broker, strategy, parent


def test_cancelling_a_sliced_order_cancels_every_child() -> None:
    _engine, broker, strategy, parent = sliced()
    children = [o.client_order_id for o in broker.submitted]
    assert len(children) == 3
    strategy.cancel(parent)
    assert broker.cancelled == children


def test_changing_a_sliced_order_changes_every_working_child() -> None:
    engine, broker, strategy, parent = sliced()
    for o in broker.submitted:
        broker.accept(o.client_order_id)
    engine.drain()
    assert strategy.modify(parent, limit_paise=2_310_000) == ""
    assert [(c, p) for c, _, p, _ in broker.modified] == [
        (o.client_order_id, 2_310_000) for o in broker.submitted
    ]
    assert strategy.modify(parent, quantity=65) == "PARENT_QUANTITY"


def test_a_sliced_order_reports_one_status_and_the_sum_of_its_fills() -> None:
    engine, broker, strategy, parent = sliced()
    first, second, third = (o.client_order_id for o in broker.submitted)
    broker.fill(first, 1_755, 2_300_000, trade_id="T1")
    engine.drain()
    (seen,) = strategy.open_orders()
    assert (seen.client_order_id, seen.quantity, seen.filled_quantity, seen.status) == (
        parent,
        3_900,
        1_755,
        OrderStatus.PARTIALLY_FILLED,
    )
    broker.fill(second, 1_755, 2_300_000, trade_id="T2")
    broker.fill(third, 390, 2_300_000, trade_id="T3")
    engine.drain()
    updates = [a for h, a in strategy.calls if isinstance(a, OrderSnapshot)]
    assert {u.client_order_id for u in updates} == {parent}
    assert updates[-1].status is OrderStatus.FILLED
    assert updates[-1].filled_quantity == 3_900
    fills = [a for h, a in strategy.calls if isinstance(a, Fill)]
    assert {f.client_order_id for f in fills} == {parent}
    # The books and the trade log keep the children.
    assert {f.client_order_id for f in engine.trade_log.fills} == {first, second, third}  # type: ignore[attr-defined]


# --- 4. books per strategy and product ---------------------------------------------------


def test_close_cancels_a_resting_protective_stop_and_flattens() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    entry = strategy.buy(10)
    broker.fill(entry, 10, 10_000, trade_id="T1")
    engine.drain()
    stop = strategy.sell(10, stop_paise=9_500)
    broker.push(ExecutionReport(stop, OrderEvent.ACCEPT_TRIGGER_PENDING, T0))
    engine.drain()
    closing = strategy.close()
    assert closing is not None
    assert broker.cancelled == [stop]
    sent = broker.submitted[-1]
    assert (sent.client_order_id, sent.side, sent.quantity, sent.order_type) == (
        closing,
        OrderSide.SELL,
        10,
        OrderType.MARKET,
    )


def test_target_position_does_not_count_an_untriggered_stop_as_exposure() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    entry = strategy.buy(10)
    broker.fill(entry, 10, 10_000, trade_id="T1")
    engine.drain()
    strategy.sell(10, stop_paise=9_500)
    assert strategy.target_position(0) is not None
    assert broker.submitted[-1].quantity == 10


def cutoff_rig(
    *strategies: RecordingStrategy,
) -> tuple[TradingEngine, FakeBroker, SimulatedClock]:
    clock = SimulatedClock(T0)
    cut = ist_ns("2025-01-06", "15:15")
    squareoff = IntradaySquareOff(lambda symbol, day: cut, clock)
    engine, broker = make_engine(
        *strategies, risk=RiskChain(NoDeliveryShort(), squareoff), clock=clock
    )
    return engine, broker, clock


def test_square_off_closes_an_intraday_short_held_beside_a_delivery_holding() -> None:
    strategy = RecordingStrategy()
    engine, broker, clock = cutoff_rig(strategy)
    held = strategy.buy(100, product=ProductType.DELIVERY)
    short = strategy.sell(50, product=ProductType.INTRADAY)
    broker.fill(held, 100, 10_000, trade_id="T1")
    broker.fill(short, 50, 10_000, trade_id="T2")
    engine.drain()
    assert strategy.position() == 50  # net; two books underneath
    clock.ts_ns = ist_ns("2025-01-06", "15:16")
    (coid,) = engine.square_off(SYMBOL)
    order = engine.orders.orders[coid]
    assert (order.status, order.side, order.quantity, order.product) == (
        OrderStatus.SUBMITTED,
        OrderSide.BUY,
        50,
        ProductType.INTRADAY,
    )
    broker.fill(coid, 50, 10_100, trade_id="T3")
    engine.drain()
    assert strategy.ctx.book_quantity(SYMBOL, ProductType.INTRADAY) == 0
    assert strategy.ctx.book_quantity(SYMBOL, ProductType.DELIVERY) == 100


def test_an_intraday_long_is_no_shares_to_sell_as_delivery() -> None:
    strategy = RecordingStrategy()
    engine, broker, _ = cutoff_rig(strategy)
    coid = strategy.buy(100, product=ProductType.INTRADAY)
    broker.fill(coid, 100, 10_000, trade_id="T1")
    engine.drain()
    refused = strategy.sell(100, product=ProductType.DELIVERY)
    order = engine.orders.orders[refused]
    assert order.status is OrderStatus.REJECTED
    assert order.reason.startswith("NO_DELIVERY_SHORT")


def test_another_strategys_holding_is_no_shares_to_sell_either() -> None:
    owner = RecordingStrategy(strategy_id="owner")
    other = RecordingStrategy(strategy_id="other")
    engine, broker, _ = cutoff_rig(owner, other)
    coid = owner.buy(100, product=ProductType.DELIVERY)
    broker.fill(coid, 100, 10_000, trade_id="T1")
    engine.drain()
    assert other.position() == 0
    refused = other.sell(10, product=ProductType.DELIVERY)
    assert engine.orders.orders[refused].status is OrderStatus.REJECTED
    allowed = owner.sell(10, product=ProductType.DELIVERY)
    assert engine.orders.orders[allowed].status is OrderStatus.SUBMITTED


def test_each_product_of_a_symbol_is_its_own_book_with_its_own_round_trips() -> None:
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy)
    reports = [
        (strategy.buy(10, product=ProductType.DELIVERY), 10_000),
        (strategy.sell(10, product=ProductType.INTRADAY), 10_000),
        (strategy.buy(10, product=ProductType.INTRADAY), 9_900),
    ]
    for n, (coid, price) in enumerate(reports):
        broker.fill(coid, 10, price, trade_id=f"T{n}")
    engine.drain()
    books = {key.product: pos for key, pos in engine.portfolio.books.items()}
    assert books[ProductType.DELIVERY].quantity == 10
    assert books[ProductType.INTRADAY].quantity == 0
    (trip,) = engine.portfolio.round_trips()
    assert (trip.direction, trip.pnl_paise) == (-1, 10 * 100)


# --- 5. time drives the engine ------------------------------------------------------------


def throttled() -> tuple[TradingEngine, FakeBroker, SimulatedClock, RecordingStrategy]:
    clock = SimulatedClock(T0)
    strategy = RecordingStrategy()
    engine, broker = make_engine(strategy, throttle=OrderThrottle(2), clock=clock)
    for _ in range(5):
        strategy.buy(1)
    assert len(broker.submitted) == 2
    return engine, broker, clock, strategy


def test_the_timer_releases_held_orders_when_their_slot_comes_without_any_bar() -> None:
    engine, broker, clock, _ = throttled()
    due = engine.next_timer_ns()
    assert due is not None
    assert due > clock.ts_ns
    engine.on_timer(due - 1)
    assert len(broker.submitted) == 2
    clock.ts_ns = due
    engine.on_timer(due)
    assert len(broker.submitted) == 4
    engine.on_timer(due + SECOND)
    assert len(broker.submitted) == 5
    assert engine.next_timer_ns() is None


def test_a_tick_releases_held_orders_too() -> None:
    engine, broker, _, _ = throttled()
    engine.on_tick(Tick(SYMBOL, T0 + SECOND, 10_000))
    assert len(broker.submitted) == 4


# --- 7. intents and a read-only view ------------------------------------------------------


def test_a_strategy_sees_a_view_of_its_own_not_the_engine() -> None:
    strategy = RecordingStrategy(strategy_id="mine")
    engine, _ = make_engine(strategy)
    ctx: StrategyContext = strategy.ctx
    assert ctx is not engine
    assert not hasattr(ctx, "orders")
    assert not hasattr(ctx, "portfolio")
    assert ctx.strategy_id == "mine"
    with pytest.raises(OrderError, match="theirs"):
        ctx.submit_order(OrderIntent("theirs", SYMBOL, OrderSide.BUY, 1))


def test_an_intent_is_frozen_and_goes_unchanged_to_the_order() -> None:
    strategy = RecordingStrategy(strategy_id="mine")
    _engine, broker = make_engine(strategy)
    intent = OrderIntent(
        "mine",
        SYMBOL,
        OrderSide.SELL,
        7,
        OrderType.STOPLOSS_LIMIT,
        9_900,
        9_950,
        ProductType.INTRADAY,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        intent.quantity = 8  # type: ignore[misc]
    coid = strategy.ctx.submit_order(intent)
    (sent,) = broker.submitted
    assert sent.client_order_id == coid
    assert (sent.side, sent.quantity, sent.order_type, sent.price_paise) == (
        OrderSide.SELL,
        7,
        OrderType.STOPLOSS_LIMIT,
        9_900,
    )
    assert (sent.trigger_price_paise, sent.product) == (9_950, ProductType.INTRADAY)


def test_a_quarantine_holds_new_orders_but_not_the_square_off_of_that_book() -> None:
    strategy = RecordingStrategy()
    engine, broker, clock = cutoff_rig(strategy)
    short = strategy.sell(50, product=ProductType.INTRADAY)
    broker.fill(short, 50, 10_000, trade_id="T1")
    broker.fill(short, 1, 10_000, trade_id="T2")  # more than the order: quarantined
    engine.drain()
    assert engine.quarantined() == [short]
    clock.ts_ns = ist_ns("2025-01-06", "15:16")
    (coid,) = engine.square_off(SYMBOL)
    assert engine.orders.orders[coid].status is OrderStatus.SUBMITTED
