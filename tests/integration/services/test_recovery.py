"""Start-up recovery (services/recovery.py) on a real SQLite database and a broker whose books
the test writes: each kind of order a crash leaves behind, duplicates, position repair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import (
    Order,
    OrderEvent,
    OrderSide,
    OrderStatus,
    ProductType,
)
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import AlertCode
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    ReconcileConfig,
    Verdict,
)
from algo_trading.services.recovery import UNATTRIBUTED, Recovery
from tests.support.recovery import Alerts, BookBroker

S = 1_000_000_000
T0 = 1_800_000_000 * S
ACCOUNT = "acct"
SYMBOL = "SBIN-EQ"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'recovery.db'}")
    upgrade(db)
    yield db
    db.dispose()


def _intent(db: Database, coid: str, at_ns: int, side: OrderSide = OrderSide.BUY) -> Order:
    """An order as a killed process left it: committed SUBMITTED, nothing after."""
    order = Order(ClientOrderId(coid), StrategyId("sma"), SYMBOL, side, 10, created_ns=at_ns)
    order.tag = f"sma-{coid}"
    order.apply(OrderEvent.SUBMIT, at_ns)
    SqlTradeLog(db, account=ACCOUNT).record_order(order, OrderEvent.SUBMIT)
    return order


def _recovery(
    db: Database, broker: BookBroker, now_ns: int
) -> tuple[Recovery, TradingEngine, Alerts]:
    clock = SimulatedClock(now_ns)
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=1_000_000_00,
        trade_log=SqlTradeLog(db, account=ACCOUNT),
        account=ACCOUNT,
    )
    alerts = Alerts()
    recovery = Recovery(
        db,
        broker,
        engine,
        alerts,
        clock,
        "test-1",
        account=ACCOUNT,
        positions=broker.read_positions,
        config=ReconcileConfig(confirm_window_ns=60 * S),
    )
    return recovery, engine, alerts


def test_start_up_adopts_a_filled_order_closes_a_never_sent_one_and_follows_a_recent_one(
    database: Database,
) -> None:
    _intent(database, "A1", T0)  # reached the broker, filled, before the kill
    _intent(database, "B1", T0)  # never reached it (killed between commit and send)
    _intent(database, "C1", T0 + 100 * S)  # sent moments ago: the broker may not show it yet
    broker = BookBroker()
    broker.orders = [BrokerOrder("sma-A1", "BRK-1", OrderStatus.FILLED, 10, 10)]
    broker.trades = [BrokerTrade("TR-1", "sma-A1", "BRK-1", 10, 250_00, T0 + S)]
    broker.positions = {(SYMBOL, ProductType.INTRADAY): (10, 250_00)}
    recovery, engine, alerts = _recovery(database, broker, T0 + 120 * S)

    report = recovery.recover()

    assert report.verdicts == {
        Verdict.ACKNOWLEDGED.value: 1,
        Verdict.NEVER_SENT.value: 1,
        Verdict.UNCONFIRMED.value: 1,
    }
    assert report.fills_booked == 1
    with SqlUnitOfWork(database, read_only=True) as uow:
        a1, b1 = uow.orders.get(ClientOrderId("A1")), uow.orders.get(ClientOrderId("B1"))
        trades = uow.trades.for_order(ClientOrderId("A1"))
        pos = uow.positions.get(ACCOUNT, StrategyId("sma"), SYMBOL, ProductType.INTRADAY)
        left = [o.client_order_id for o in uow.orders.unresolved(ACCOUNT)]
    assert a1 is not None
    assert b1 is not None
    assert (a1.status, a1.broker_order_id) == (OrderStatus.FILLED, "BRK-1")
    assert [t.trade_id for t in trades] == ["TR-1"]
    assert b1.status is OrderStatus.CANCELLED
    assert pos is not None
    assert pos.quantity == 10
    assert left == ["C1"]
    assert broker.followed == {"C1": (OrderStatus.SUBMITTED, T0 + 100 * S, frozenset())}
    assert broker.submitted == []  # recovery never places anything
    assert engine.portfolio.symbol_quantity(SYMBOL) == 10  # the engine starts from the books
    assert engine.portfolio.cash == 1_000_000_00 - 10 * 250_00
    assert report.position_diffs == ()
    assert alerts.codes() == [AlertCode.CRASH_RECOVERY]


def test_books_that_already_agree_raise_no_alert(database: Database) -> None:
    broker = BookBroker()
    recovery, _, alerts = _recovery(database, broker, T0)
    report = recovery.recover()
    assert not report.changed
    assert alerts.items == []


def test_a_duplicated_tag_is_alerted_and_the_extra_open_order_cancelled(
    database: Database,
) -> None:
    _intent(database, "D1", T0)
    broker = BookBroker()
    broker.orders = [
        BrokerOrder("sma-D1", "BRK-1", OrderStatus.OPEN, 10, 0),
        BrokerOrder("sma-D1", "BRK-2", OrderStatus.OPEN, 10, 0),
    ]
    recovery, _, alerts = _recovery(database, broker, T0 + 5 * S)
    report = recovery.recover()
    assert report.verdicts == {Verdict.DUPLICATE.value: 1}
    assert broker.cancelled == ["BRK-2"]
    assert AlertCode.RECONCILIATION_DIFF in alerts.codes()
    assert AlertCode.CRASH_RECOVERY in alerts.codes()


def test_an_order_declared_not_placed_that_appears_later_is_adopted_late_and_cancelled(
    database: Database,
) -> None:
    _intent(database, "L1", T0)
    broker = BookBroker()
    first, _, _ = _recovery(database, broker, T0 + 120 * S)
    assert first.recover().verdicts == {Verdict.NEVER_SENT.value: 1}
    broker.orders = [BrokerOrder("sma-L1", "BRK-9", OrderStatus.PARTIALLY_FILLED, 10, 4)]
    broker.trades = [BrokerTrade("TR-9", "sma-L1", "BRK-9", 4, 250_00, T0 + 130 * S)]
    broker.positions = {(SYMBOL, ProductType.INTRADAY): (4, 250_00)}
    second, _, alerts = _recovery(database, broker, T0 + 140 * S)  # the next restart
    report = second.recover()
    assert report.verdicts == {Verdict.ADOPTED_LATE.value: 1}
    assert broker.cancelled == ["BRK-9"]
    with SqlUnitOfWork(database, read_only=True) as uow:
        assert [t.trade_id for t in uow.trades.for_order(ClientOrderId("L1"))] == ["TR-9"]
    assert report.position_diffs == ()
    assert AlertCode.RECONCILIATION_DIFF in alerts.codes()


def test_a_position_difference_no_fill_explains_is_alerted_and_repaired_on_the_second_look(
    database: Database,
) -> None:
    broker = BookBroker()
    broker.positions = {(SYMBOL, ProductType.INTRADAY): (5, 250_00)}  # bought in the app
    recovery, _, alerts = _recovery(database, broker, T0)
    first = recovery.recover()
    assert [str(d) for d in first.position_diffs] == [f"{SYMBOL} INTRADAY: ours 0, broker 5"]
    assert first.positions_repaired == ()
    assert AlertCode.RECONCILIATION_DIFF not in alerts.codes()  # a fill in flight, perhaps
    second = recovery.reconcile_once()
    assert second.positions_repaired == first.position_diffs
    third = recovery.reconcile_once()
    assert third.position_diffs == ()
    with SqlUnitOfWork(database, read_only=True) as uow:
        pos = uow.positions.get(ACCOUNT, StrategyId(UNATTRIBUTED), SYMBOL, ProductType.INTRADAY)
    assert pos is not None
    assert pos.quantity == 5
    assert alerts.codes().count(AlertCode.RECONCILIATION_DIFF) == 1  # the second look's


def test_a_takeover_recovers_only_the_strategies_named(database: Database) -> None:
    _intent(database, "A1", T0)
    other = Order(ClientOrderId("Z1"), StrategyId("other"), SYMBOL, OrderSide.BUY, 1)
    other.tag = "other-Z1"
    other.apply(OrderEvent.SUBMIT, T0)
    SqlTradeLog(database, account=ACCOUNT).record_order(other, OrderEvent.SUBMIT)
    broker = BookBroker()
    recovery, engine, _ = _recovery(database, broker, T0 + 120 * S)
    report = recovery.recover(["sma"])
    assert report.kind == "takeover"
    assert report.verdicts == {Verdict.NEVER_SENT.value: 1}
    assert "Z1" not in engine.orders.orders


def test_a_position_difference_in_a_symbol_with_an_order_working_is_never_repaired(
    database: Database,
) -> None:
    _intent(database, "W1", T0)
    broker = BookBroker()
    broker.orders = [BrokerOrder("sma-W1", "BRK-5", OrderStatus.OPEN, 10, 0)]
    broker.positions = {(SYMBOL, ProductType.INTRADAY): (5, 250_00)}  # a fill in flight?
    recovery, _, alerts = _recovery(database, broker, T0 + 5 * S)
    recovery.recover()
    second = recovery.reconcile_once()
    assert len(second.position_diffs) == 1
    assert second.positions_repaired == ()  # W1 may explain it: a person or the next pass
    with SqlUnitOfWork(database, read_only=True) as uow:
        assert (
            uow.positions.get(ACCOUNT, StrategyId(UNATTRIBUTED), SYMBOL, ProductType.INTRADAY)
            is None
        )
    assert AlertCode.RECONCILIATION_DIFF in alerts.codes()


def test_a_difference_seen_on_one_pass_only_is_a_fill_in_flight_and_never_alerted(
    database: Database,
) -> None:
    """The broker's position book is read a moment after the database's: a fill in between
    shows as a difference on one pass and is gone at the next. No alert, no repair."""
    broker = BookBroker()
    recovery, _, alerts = _recovery(database, broker, T0)
    recovery.recover()
    broker.positions = {(SYMBOL, ProductType.INTRADAY): (5, 250_00)}  # the fill, in flight
    assert len(recovery.reconcile_once().position_diffs) == 1
    broker.positions = {}  # the next pass: it was ours after all (here: undone)
    assert recovery.reconcile_once().position_diffs == ()
    assert AlertCode.RECONCILIATION_DIFF not in alerts.codes()
