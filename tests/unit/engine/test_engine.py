"""The engine with a fake broker (engine/engine.py, engine/order_manager.py): intent before
action, refusals as values, broker reports applied once and in order, and user strategy code
that can fail without taking the engine or other strategies down."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from algo_trading.domain import (
    Bar,
    ExecutionReport,
    Fill,
    OrderEvent,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    StrategyError,
)
from algo_trading.engine import ChargesModel, RiskCheck, SimulatedClock, TradingEngine
from algo_trading.strategy.base import Strategy
from tests.support.builders import SYMBOL, ist_ns, make_bar
from tests.support.fakes import (
    FakeBroker,
    FlatCharges,
    RecordingStrategy,
    RecordingTradeLog,
    RefusingRisk,
)

CASH = 10_000_000


@dataclass
class Rig:
    engine: TradingEngine
    broker: FakeBroker
    log: RecordingTradeLog
    clock: SimulatedClock
    timeline: list[str]


def rig(
    *strategies: Strategy,
    risk: RiskCheck | None = None,
    charges: ChargesModel | None = None,
    raise_strategy_errors: bool = True,
) -> Rig:
    timeline: list[str] = []
    clock = SimulatedClock(ist_ns("2024-01-01", "09:15"))
    broker = FakeBroker(timeline)
    log = RecordingTradeLog(timeline)
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=CASH,
        risk=risk,
        trade_log=log,
        charges=charges,
        raise_strategy_errors=raise_strategy_errors,
    )
    for strategy in strategies:
        engine.add_strategy(strategy)
    engine.start()
    return Rig(engine, broker, log, clock, timeline)


def bar_at(minute: int, price: int = 10_000) -> Bar:
    return make_bar(price, ts_ns=ist_ns("2024-01-01", f"09:{15 + minute:02d}"))


def summary(hook: str, arg: object) -> tuple[str, object]:
    if isinstance(arg, OrderSnapshot):
        return hook, arg.status
    if isinstance(arg, Fill):
        return hook, arg.trade_id
    return hook, None


def updates(strategy: RecordingStrategy) -> list[OrderStatus]:
    return [arg.status for hook, arg in strategy.calls if isinstance(arg, OrderSnapshot)]


class Boom(RecordingStrategy):
    """Raises in on_bar from the given bar on (counting from one)."""

    name = "boom"

    def __init__(self, from_bar: int = 1, strategy_id: str | None = None) -> None:
        super().__init__(strategy_id=strategy_id)
        self.from_bar = from_bar

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if len(self.hooks_of("on_bar")) >= self.from_bar:
            raise RuntimeError("bad index")

    def hooks_of(self, hook: str) -> list[str]:
        return [h for h in self.hooks() if h == hook]


# --- intent before action ---------------------------------------------------------------


def test_an_order_is_written_down_before_the_broker_hears_of_it() -> None:
    strategy = RecordingStrategy(act=lambda s, bar: s.buy(10))
    r = rig(strategy)
    r.engine.on_bar(bar_at(0))
    (sent,) = r.broker.submitted
    assert r.timeline == [
        f"log.SUBMIT {sent.client_order_id}",
        f"broker.submit {sent.client_order_id}",
    ]
    assert sent.status is OrderStatus.SUBMITTED
    assert (sent.side, sent.quantity, sent.symbol) == (OrderSide.BUY, 10, SYMBOL)
    assert sent.created_ns == r.clock.now_ns()


# --- risk -------------------------------------------------------------------------------


def test_a_refused_order_is_rejected_with_the_decision_and_never_reaches_the_broker() -> None:
    strategy = RecordingStrategy()
    risk = RefusingRisk("MAX_ORDER_QTY", "qty=10, limit=5")
    r = rig(strategy, risk=risk)
    coid = strategy.buy(10)
    order = r.engine.orders.orders[coid]
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "MAX_ORDER_QTY: qty=10, limit=5"
    assert risk.checked == [coid]
    assert r.broker.submitted == []
    assert r.engine.orders.working == {}
    assert r.log.order_events == [(coid, OrderEvent.REJECT, OrderStatus.REJECTED)]
    assert updates(strategy) == [OrderStatus.REJECTED]
    assert strategy.open_orders() == []


# --- broker reports ---------------------------------------------------------------------


def test_fills_reach_on_fill_before_on_order_update_and_move_the_books() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy, charges=FlatCharges(20))
    coid = strategy.buy(10)
    r.broker.accept(coid, broker_order_id="B1")
    r.broker.fill(coid, 4, 10_000, trade_id="T1")
    r.broker.fill(coid, 6, 10_010, trade_id="T2")
    r.engine.drain()
    assert [summary(hook, arg) for hook, arg in strategy.calls] == [
        ("on_start", None),
        ("on_order_update", OrderStatus.OPEN),
        ("on_fill", "T1"),
        ("on_order_update", OrderStatus.PARTIALLY_FILLED),
        ("on_fill", "T2"),
        ("on_order_update", OrderStatus.FILLED),
    ]
    order = r.engine.orders.orders[coid]
    assert order.broker_order_id == "B1"
    assert r.engine.position_quantity(SYMBOL) == 10
    assert r.engine.cash_paise() == CASH - (4 * 10_000 + 6 * 10_010) - 2 * 20
    assert [f.charges_paise for f in r.log.fills] == [20, 20]
    assert r.engine.orders.working == {}


def test_a_fill_reported_twice_under_one_trade_id_is_applied_once() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy)
    coid = strategy.buy(10)
    r.broker.accept(coid)
    r.broker.fill(coid, 4, 10_000, trade_id="T1")
    r.broker.fill(coid, 4, 10_000, trade_id="T1")
    r.engine.drain()
    assert r.engine.orders.orders[coid].filled_quantity == 4
    assert r.engine.position_quantity(SYMBOL) == 4
    assert r.engine.cash_paise() == CASH - 40_000
    assert len(r.log.fills) == 1
    assert [h for h in strategy.hooks() if h == "on_fill"] == ["on_fill"]


def test_an_acknowledgement_that_arrives_after_the_fill_changes_nothing() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy)
    coid = strategy.buy(10)
    r.broker.fill(coid, 10, 10_000, trade_id="T1")
    r.engine.drain()
    calls_before = list(strategy.calls)
    r.broker.accept(coid, broker_order_id="B9")
    r.engine.drain()
    order = r.engine.orders.orders[coid]
    assert order.status is OrderStatus.FILLED
    assert OrderEvent.ACCEPT not in r.log.events_of(coid)
    assert strategy.calls == calls_before


def test_a_report_for_an_order_we_never_sent_is_kept_as_an_incident_not_raised() -> None:
    r = rig(RecordingStrategy())
    r.broker.push(ExecutionReport("GHOST-1", OrderEvent.ACCEPT, 0))
    r.engine.drain()
    (incident,) = r.engine.orders.incidents
    assert (incident.code, incident.report.client_order_id) == ("UNKNOWN_ORDER", "GHOST-1")


def test_a_report_the_lifecycle_forbids_quarantines_its_order_instead_of_raising() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy)
    coid = strategy.buy(10)
    r.broker.fill(coid, 10, 10_000, trade_id="T1")
    r.broker.event(coid, OrderEvent.REJECT, reason="late")
    r.engine.drain()
    assert r.engine.orders.orders[coid].status is OrderStatus.FILLED  # state kept
    assert r.engine.quarantined() == [coid]
    (incident,) = r.engine.orders.incidents
    assert incident.code == "REFUSED_REPORT"
    assert incident.report.event is OrderEvent.REJECT
    assert "IllegalTransitionError" in incident.detail
    # New orders of that strategy in that symbol wait for reconciliation, with a stable code.
    held = strategy.buy(5)
    assert r.engine.orders.orders[held].status is OrderStatus.REJECTED
    assert r.engine.orders.orders[held].reason.startswith("QUARANTINED")
    assert r.engine.orders.resolve_quarantine(coid)
    again = strategy.buy(5)
    assert r.engine.orders.orders[again].status is OrderStatus.SUBMITTED


def test_reports_queued_by_the_broker_are_applied_before_the_next_bar_reaches_the_strategy() -> (
    None
):
    strategy = RecordingStrategy()
    r = rig(strategy)
    coid = strategy.buy(10)
    r.broker.accept(coid)
    r.broker.fill(coid, 10, 10_000, trade_id="T1")
    assert r.engine.orders.orders[coid].status is OrderStatus.SUBMITTED  # only queued so far
    r.engine.on_bar(bar_at(1, price=10_050))
    hooks = strategy.hooks()
    assert hooks.index("on_fill") < hooks.index("on_bar")
    assert strategy.positions_seen == [10]
    assert r.engine.equity_paise() == CASH + 10 * 50  # marked at the bar's close


def test_a_cancel_reaches_the_broker_only_for_a_working_order() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy)
    working = strategy.buy(10)
    done = strategy.buy(5)
    r.broker.fill(done, 5, 10_000)
    r.engine.drain()
    strategy.cancel(working)
    strategy.cancel(done)
    strategy.cancel(working)  # asked twice: one cancel goes
    assert r.broker.cancelled == [working]
    assert (
        r.engine.orders.orders[working].status is OrderStatus.PENDING_CANCEL
    )  # until the venue says


# --- target_position --------------------------------------------------------------------


def test_target_position_counts_working_orders_so_asking_twice_sends_one_order() -> None:
    strategy = RecordingStrategy()
    r = rig(strategy)
    first = strategy.target_position(10)
    assert strategy.target_position(10) is None
    assert [o.client_order_id for o in r.broker.submitted] == [first]
    r.broker.fill(str(first), 10, 10_000)
    r.engine.drain()
    assert strategy.target_position(10) is None
    flip = strategy.target_position(-5)
    (_, sent) = r.broker.submitted
    assert (sent.client_order_id, sent.side, sent.quantity) == (flip, OrderSide.SELL, 15)


# --- untrusted strategy code ------------------------------------------------------------


def test_a_strategy_that_raises_is_stopped_and_the_others_go_on() -> None:
    boom = Boom(strategy_id="boom-1")
    steady = RecordingStrategy(strategy_id="steady")
    r = rig(boom, steady, raise_strategy_errors=False)
    for minute in range(3):
        r.engine.on_bar(bar_at(minute))
    assert boom.hooks_of("on_bar") == ["on_bar"]
    # Regression: the strategy after a failing one used to miss the bar of the failure.
    assert [h for h in steady.hooks() if h == "on_bar"] == ["on_bar"] * 3
    (error,) = r.engine.strategy_errors
    # Named by its id, so two instances of one strategy class can be told apart.
    assert (error.strategy, error.hook) == ("boom-1", "on_bar")
    assert isinstance(error.cause, RuntimeError)
    r.engine.stop()
    assert "on_stop" not in boom.hooks()
    assert steady.hooks()[-1] == "on_stop"


def test_a_strategy_that_raises_in_on_fill_gets_no_more_calls() -> None:
    class FailsOnFill(RecordingStrategy):
        name = "fails_on_fill"

        def on_fill(self, fill: Fill) -> None:
            super().on_fill(fill)
            raise ValueError("no")

    strategy = FailsOnFill()
    r = rig(strategy, raise_strategy_errors=False)
    coid = strategy.buy(10)
    r.broker.fill(coid, 10, 10_000)
    r.engine.on_bar(bar_at(1))
    assert strategy.hooks()[-1] == "on_fill"
    (error,) = r.engine.strategy_errors
    assert (error.strategy, error.hook) == ("fails_on_fill", "on_fill")
    assert r.engine.position_quantity(SYMBOL) == 10  # the books do not depend on user code


def test_with_raise_strategy_errors_a_failing_strategy_stops_the_run() -> None:
    r = rig(Boom(), raise_strategy_errors=True)
    with pytest.raises(StrategyError) as raised:
        r.engine.on_bar(bar_at(0))
    assert (raised.value.strategy, raised.value.hook) == ("boom", "on_bar")
    assert isinstance(raised.value.cause, RuntimeError)


class _FillsOnly(Strategy):
    name = "fills_only"

    def __init__(self) -> None:
        super().__init__(symbols=(SYMBOL,), strategy_id="fills_only")
        self.seen: list[str] = []

    def on_fill(self, fill: Fill) -> None:
        self.seen.append(f"fill {fill.trade_id}")


class _UpdatesOnly(Strategy):
    name = "updates_only"

    def __init__(self) -> None:
        super().__init__(symbols=(SYMBOL,), strategy_id="updates_only")
        self.seen: list[str] = []

    def on_order_update(self, order: OrderSnapshot) -> None:
        self.seen.append(f"update {order.status.value}")


class _HookedInOnStart(Strategy):
    name = "hooked_in_on_start"

    def __init__(self) -> None:
        super().__init__(symbols=(SYMBOL,), strategy_id="hooked_in_on_start")
        self.seen: list[str] = []

    def on_start(self) -> None:
        def on_fill(fill: Fill) -> None:
            self.seen.append(f"fill {fill.trade_id}")

        self.on_fill = on_fill  # type: ignore[method-assign]


def test_each_strategy_is_told_of_reports_by_the_hooks_it_has_of_its_own() -> None:
    # The engine works out once which hooks a strategy overrides (the base class's do
    # nothing); each is still called on every report it concerns, a hook set in on_start too.
    fills, updates, late = _FillsOnly(), _UpdatesOnly(), _HookedInOnStart()
    quiet = RecordingStrategy(strategy_id="quiet")
    r = rig(fills, updates, late, quiet)
    ids = {s.strategy_id: s.buy(10, SYMBOL) for s in (fills, updates, late)}
    for sid, coid in ids.items():
        r.broker.accept(coid)
        r.broker.fill(coid, 4, 10_000, trade_id=f"T-{sid}-1")
        r.broker.fill(coid, 6, 10_010, trade_id=f"T-{sid}-2")
    r.engine.on_bar(bar_at(1))
    assert fills.seen == ["fill T-fills_only-1", "fill T-fills_only-2"]
    assert updates.seen == ["update OPEN", "update PARTIALLY_FILLED", "update FILLED"]
    assert late.seen == ["fill T-hooked_in_on_start-1", "fill T-hooked_in_on_start-2"]
    assert "on_fill" not in quiet.hooks()


@pytest.mark.parametrize("prefix", ["O", "BT", "run_7-a", "X" * 40])
def test_sequential_ids_that_skip_the_check_always_pass_it(prefix: str) -> None:
    # The order manager trusts a SequentialIds whose prefix passes and skips the check per
    # order: every id it issues must pass, however many it issues.
    from algo_trading.domain.ids import check_client_order_id
    from algo_trading.engine.order_manager import SequentialIds

    ids = SequentialIds(prefix)
    assert ids.issues_checked_ids
    for _ in range(3):
        check_client_order_id(ids.next_id())
    ids._n = 10**23
    check_client_order_id(ids.next_id())


@pytest.mark.parametrize("prefix", ["a b", "é", "%", "X" * 41, "X" * 70])
def test_sequential_ids_with_a_bad_or_long_prefix_are_checked_per_order(prefix: str) -> None:
    from algo_trading.domain.errors import OrderError
    from algo_trading.domain.ids import check_client_order_id
    from algo_trading.engine.order_manager import SequentialIds

    ids = SequentialIds(prefix)
    assert not ids.issues_checked_ids
    if prefix == "X" * 41:  # valid ids, just not trusted without the check
        check_client_order_id(ids.next_id())
        return
    clock = SimulatedClock(ist_ns("2024-01-01", "09:15"))
    engine = TradingEngine(clock, FakeBroker([]), starting_cash_paise=CASH, ids=ids)
    strategy = RecordingStrategy()
    engine.add_strategy(strategy)
    engine.start()
    with pytest.raises(OrderError, match="client order id"):
        strategy.buy(10)
