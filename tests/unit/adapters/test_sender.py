"""The threaded order sender (adapters/brokers/sender.py): a slow broker call never holds up the
engine loop, actions keep their order, and a call that raises is answered, not lost."""

from __future__ import annotations

import threading
import time

from algo_trading.adapters.brokers.sender import ThreadedSender
from algo_trading.domain import (
    Bar,
    ClientOrderId,
    OrderSnapshot,
    OrderStatus,
    Tick,
)
from algo_trading.engine import SimulatedClock, TradingEngine
from tests.support.builders import SYMBOL, ist_ns
from tests.support.fakes import FakeBroker, RecordingStrategy

T0 = ist_ns("2025-01-06", "10:00")
WAIT_S = 10.0  # a deadline for conditions polled, never a sleep


class BlockingBroker(FakeBroker):
    """A broker whose place call waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def submit(self, order: OrderSnapshot) -> None:
        self.entered.set()
        if not self.gate.wait(WAIT_S):
            raise TimeoutError("the test never opened the gate")
        super().submit(order)


class RefusingBroker(FakeBroker):
    def cancel(self, client_order_id: ClientOrderId) -> None:
        super().cancel(client_order_id)
        raise ConnectionError("gateway timeout")


class BuyOnTick(RecordingStrategy):
    def on_tick(self, tick: Tick) -> None:
        super().on_tick(tick)
        self.buy(1)


def engine_over(
    broker: FakeBroker, strategy: RecordingStrategy
) -> tuple[TradingEngine, ThreadedSender]:
    clock = SimulatedClock(T0)
    sender = ThreadedSender(broker, clock)
    engine = TradingEngine(clock, broker, starting_cash_paise=10**9, sender=sender)
    sender.connect(engine.report)
    engine.add_strategy(strategy)
    engine.start()
    return engine, sender


def test_a_broker_place_that_blocks_does_not_hold_up_the_next_tick() -> None:
    broker = BlockingBroker()
    strategy = BuyOnTick()
    engine, sender = engine_over(broker, strategy)
    try:
        engine.on_tick(Tick(SYMBOL, T0, 10_000))  # places an order; the broker blocks on it
        assert broker.entered.wait(WAIT_S)
        engine.on_tick(Tick(SYMBOL, T0 + 1, 10_005))  # returns although the broker still waits
        engine.on_bar(Bar(SYMBOL, T0 + 2, 10_000, 10_000, 10_000, 10_000, 1))
        assert strategy.hooks().count("on_tick") == 2
        assert broker.submitted == []  # nothing got through yet
        orders = list(engine.orders.orders.values())
        assert [o.status for o in orders] == [OrderStatus.SUBMITTED] * 2
        broker.gate.set()
        assert sender.wait_idle(WAIT_S)
        assert [o.client_order_id for o in broker.submitted] == [o.client_order_id for o in orders]
        broker.accept(orders[0].client_order_id)  # the answer comes through the report queue
        engine.drain()
        assert orders[0].status is OrderStatus.OPEN
    finally:
        broker.gate.set()
        sender.close(WAIT_S)


def test_a_cancel_that_raises_is_answered_so_the_order_does_not_wait_forever() -> None:
    broker = RefusingBroker()
    strategy = RecordingStrategy()
    engine, sender = engine_over(broker, strategy)
    try:
        coid = strategy.buy(1)
        assert sender.wait_idle(WAIT_S)
        broker.accept(coid)
        engine.drain()
        strategy.cancel(coid)
        assert sender.wait_idle(WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while engine.orders.orders[coid].status is not OrderStatus.OPEN:
            assert time.monotonic() < deadline, "the refused cancel was never answered"
            engine.drain()
        (failure,) = sender.failures
        assert (failure.action, failure.client_order_id) == ("cancel", coid)
        assert "gateway timeout" in failure.error
        assert [o.client_order_id for o in broker.submitted] == [coid]
    finally:
        sender.close(WAIT_S)


def test_actions_reach_the_broker_in_the_order_given() -> None:
    timeline: list[str] = []
    broker = FakeBroker(timeline)
    strategy = RecordingStrategy()
    engine, sender = engine_over(broker, strategy)
    try:
        first = strategy.buy(1)
        second = strategy.buy(2)
        strategy.cancel(first)
        assert sender.wait_idle(WAIT_S)
        assert timeline == [
            f"broker.submit {first}",
            f"broker.submit {second}",
            f"broker.cancel {first}",
        ]
        assert engine.orders.orders[first].status is OrderStatus.PENDING_CANCEL
    finally:
        sender.close(WAIT_S)
