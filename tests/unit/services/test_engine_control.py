"""EngineControl (services/engine_control.py) over a real TradingEngine and a fake broker:
a command's order meets the engine's own risk checks, cancel and modify touch only the named
strategy's orders, square-off closes exactly the books in scope, and the kill switch is the
engine's (a fake engine with `kill_switch` stands in until the engine has one)."""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.instruments import equity
from algo_trading.domain.orders import (
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
)
from algo_trading.engine import NoDeliveryShort, SimulatedClock, TradingEngine
from algo_trading.engine.ports import CommandStatus
from algo_trading.market.throttle import OrderThrottle
from algo_trading.services.commands import EngineControl
from tests.support.builders import ist_ns
from tests.support.fakes import FakeBroker, RecordingStrategy

CASH = 100_000_000


@dataclass
class Rig:
    engine: TradingEngine
    broker: FakeBroker
    control: EngineControl
    paused: set[str]


def rig(engine_type: type[TradingEngine] = TradingEngine) -> Rig:
    broker = FakeBroker()
    engine = engine_type(
        SimulatedClock(ist_ns("2024-01-01", "10:00")),
        broker,
        starting_cash_paise=CASH,
        instruments=[equity("SBIN-EQ"), equity("INFY-EQ")],
        risk=NoDeliveryShort(),
    )
    engine.add_strategy(RecordingStrategy(strategy_id="sma-sbin", symbols=("SBIN-EQ",)))
    engine.add_strategy(RecordingStrategy(strategy_id="ema-infy", symbols=("INFY-EQ",)))
    engine.start()
    paused: set[str] = set()
    return Rig(engine, broker, EngineControl(engine, paused), paused)


def buy(
    strategy: str, symbol: str, qty: int, product: ProductType = ProductType.INTRADAY
) -> OrderIntent:
    return OrderIntent(strategy, symbol, OrderSide.BUY, qty, OrderType.LIMIT, 10_000, None, product)


def filled(r: Rig, intent: OrderIntent) -> str:
    """Place through the control and fill it at the fake broker."""
    outcome = r.control.place(intent)
    coid = outcome.result["client_order_id"]
    r.broker.accept(coid)
    r.broker.fill(coid, intent.quantity, 10_000, trade_id=f"T-{coid}")
    r.engine.drain()
    return coid


def test_an_order_goes_through_the_engine_to_the_broker_and_names_its_id() -> None:
    r = rig()
    outcome = r.control.place(buy("sma-sbin", "SBIN-EQ", 5))
    assert outcome.status is CommandStatus.DONE
    assert outcome.code == "ORDER_SENT"
    ((sent,),) = [r.broker.submitted]
    assert (sent.client_order_id, sent.strategy_id, sent.quantity) == (
        outcome.result["client_order_id"],
        "sma-sbin",
        5,
    )


def test_an_order_the_throttle_holds_is_answered_as_queued_not_sent() -> None:
    broker = FakeBroker()
    engine = TradingEngine(
        SimulatedClock(ist_ns("2024-01-01", "10:00")),
        broker,
        starting_cash_paise=CASH,
        instruments=[equity("SBIN-EQ")],
        throttle=OrderThrottle(1),
    )
    control = EngineControl(engine, set())
    assert control.place(buy("manual", "SBIN-EQ", 1)).code == "ORDER_SENT"
    held = control.place(buy("manual", "SBIN-EQ", 1))
    assert (held.code, held.result["status"]) == ("ORDER_QUEUED", "NEW")
    assert len(broker.submitted) == 1


def test_a_risk_refusal_is_the_outcome_with_the_checks_code_and_nothing_is_sent() -> None:
    r = rig()
    sell = OrderIntent("sma-sbin", "SBIN-EQ", OrderSide.SELL, 5, product=ProductType.DELIVERY)
    outcome = r.control.place(sell)
    assert (outcome.status, outcome.code) == (CommandStatus.REFUSED, "NO_DELIVERY_SHORT")
    assert outcome.detail == "sell 5 SBIN-EQ as DELIVERY, 0 free to sell"
    assert r.broker.submitted == []
    assert outcome.result["client_order_id"]  # the refused order is on the books, REJECTED


def test_a_paused_strategy_takes_no_manual_order_until_resumed() -> None:
    r = rig()
    assert r.control.pause("sma-sbin").code == "PAUSED"
    assert r.control.pause("sma-sbin").code == "ALREADY_PAUSED"
    assert r.paused == {"sma-sbin"}
    assert r.control.place(buy("sma-sbin", "SBIN-EQ", 1)).code == "STRATEGY_PAUSED"
    assert r.control.place(buy("ema-infy", "INFY-EQ", 1)).code == "ORDER_SENT"
    assert r.control.resume("sma-sbin").code == "RESUMED"
    assert r.control.resume("sma-sbin").code == "NOT_PAUSED"
    assert r.control.place(buy("sma-sbin", "SBIN-EQ", 1)).code == "ORDER_SENT"
    assert len(r.broker.submitted) == 2


def test_cancel_touches_only_an_order_of_the_named_strategy() -> None:
    r = rig()
    coid = r.control.place(buy("sma-sbin", "SBIN-EQ", 5)).result["client_order_id"]
    r.broker.accept(coid)
    r.engine.drain()

    forged = r.control.cancel("ema-infy", coid)
    assert (forged.status, forged.code) == (CommandStatus.REFUSED, "NOT_THIS_STRATEGY")
    assert r.broker.cancelled == []
    assert r.control.cancel(None, "NOPE1").code == "UNKNOWN_ORDER"

    assert r.control.cancel("sma-sbin", coid).code == "CANCEL_SENT"
    assert r.broker.cancelled == [coid]
    assert r.engine.orders.orders[coid].status is OrderStatus.PENDING_CANCEL  # type: ignore[index]


def test_a_finished_order_cannot_be_cancelled() -> None:
    r = rig()
    coid = filled(r, buy("sma-sbin", "SBIN-EQ", 5))
    outcome = r.control.cancel(None, coid)
    assert (outcome.status, outcome.code) == (CommandStatus.REFUSED, "NOT_CANCELLABLE")
    assert r.broker.cancelled == []


def test_modify_checks_the_tick_then_asks_the_broker() -> None:
    r = rig()
    coid = r.control.place(buy("sma-sbin", "SBIN-EQ", 5)).result["client_order_id"]
    r.broker.accept(coid)
    r.engine.drain()
    off_tick = r.control.modify(
        "sma-sbin", coid, quantity=None, price_paise=10_003, trigger_price_paise=None
    )
    assert (off_tick.status, off_tick.code) == (CommandStatus.REFUSED, "TICK_SIZE")
    assert r.broker.modified == []
    done = r.control.modify(
        "sma-sbin", coid, quantity=8, price_paise=10_005, trigger_price_paise=None
    )
    assert done.code == "MODIFY_SENT"
    assert r.broker.modified == [(coid, 8, 10_005, None)]
    forged = r.control.modify(
        "ema-infy", coid, quantity=9, price_paise=None, trigger_price_paise=None
    )
    assert forged.code == "NOT_THIS_STRATEGY"


def test_square_off_of_one_strategy_cancels_and_closes_only_its_books() -> None:
    r = rig()
    filled(r, buy("sma-sbin", "SBIN-EQ", 5))
    filled(r, buy("sma-sbin", "SBIN-EQ", 2, ProductType.DELIVERY))
    filled(r, buy("ema-infy", "INFY-EQ", 7))
    working = r.control.place(buy("sma-sbin", "SBIN-EQ", 3)).result["client_order_id"]
    r.broker.accept(working)
    r.engine.drain()
    before = len(r.broker.submitted)

    outcome = r.control.square_off("sma-sbin", None)

    assert (outcome.status, outcome.code) == (CommandStatus.DONE, "SQUARE_OFF_SENT")
    assert r.broker.cancelled == [working]
    closing = r.broker.submitted[before:]
    assert sorted((o.strategy_id, o.symbol, o.side, o.quantity, o.product) for o in closing) == [
        ("sma-sbin", "SBIN-EQ", OrderSide.SELL, 2, ProductType.DELIVERY),
        ("sma-sbin", "SBIN-EQ", OrderSide.SELL, 5, ProductType.INTRADAY),
    ]
    assert outcome.result["cancelled"] == working
    assert set(outcome.result["orders"].split(",")) == {o.client_order_id for o in closing}


def test_square_off_with_nothing_open_says_so() -> None:
    r = rig()
    outcome = r.control.square_off(None, "SBIN-EQ")
    assert (outcome.status, outcome.code) == (CommandStatus.DONE, "NOTHING_TO_SQUARE_OFF")
    assert r.broker.submitted == []


def test_symbols_and_strategies_are_those_of_the_engine() -> None:
    r = rig()
    assert r.control.known_symbol("SBIN-EQ")
    assert not r.control.known_symbol("XYZ-EQ")
    assert r.control.known_strategy("ema-infy")
    assert r.control.known_strategy("manual")
    assert not r.control.known_strategy("ghost")
    assert r.control.account == "default"


class KillableEngine(TradingEngine):
    """Stands in for the engine's kill switch (being added to TradingEngine elsewhere)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.kills: list[tuple[str, ...]] = []

    def kill_switch(self, reason: str, by: str) -> None:
        self.kills.append(("kill", reason, by))

    def reset_kill_switch(self, by: str) -> None:
        self.kills.append(("reset", by))


def test_kill_and_reset_call_the_engines_kill_switch_with_who_asked() -> None:
    r = rig(KillableEngine)
    assert r.control.kill("feed frozen", "asha").code == "KILL_SWITCH_ON"
    assert r.control.reset_kill("ravi").code == "KILL_SWITCH_RESET"
    assert r.engine.kills == [("kill", "feed frozen", "asha"), ("reset", "ravi")]  # type: ignore[attr-defined]


def test_kill_and_reset_trip_and_release_the_real_engines_kill_switch() -> None:
    r = rig()
    assert r.control.kill("feed frozen", "asha").code == "KILL_SWITCH_ON"
    assert r.engine.kill_switch_active
    assert r.control.reset_kill("ravi").code == "KILL_SWITCH_RESET"
    assert not r.engine.kill_switch_active
