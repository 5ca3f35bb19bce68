"""The hooks the trading service plugs in (services/resilience.py): start-up recovery before
any strategy, per-strategy recovery on a lease gained, an alert and `owns() == False` on a
lease lost, the periodic passes, the release on drain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderEvent, OrderSide, OrderStatus
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import AlertCode, LeaseToken
from algo_trading.engine.reconciliation import ReconcileConfig
from algo_trading.services.lease_keeper import LeaseConfig
from algo_trading.services.resilience import LEASE_LOST, build_resilience
from tests.support.leases import MemoryLeases
from tests.support.recovery import Alerts, BookBroker

S = 1_000_000_000
T0 = 1_800_000_000 * S
ACCOUNT = "acct"


class FakeService:
    def __init__(self, db: Database, broker: BookBroker, clock: SimulatedClock) -> None:
        self.clock = clock
        self.notifier = Alerts()
        self.instance_id = "me"
        self.broker = broker
        self.engine = TradingEngine(
            clock,
            broker,
            starting_cash_paise=10**9,
            trade_log=SqlTradeLog(db, account=ACCOUNT),
            account=ACCOUNT,
        )


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'hooks.db'}")
    upgrade(db)
    yield db
    db.dispose()


def _left_by_a_dead_instance(db: Database, coid: str, strategy: str) -> None:
    order = Order(ClientOrderId(coid), StrategyId(strategy), "SBIN-EQ", OrderSide.BUY, 1)
    order.tag = f"{strategy}-{coid}"
    order.apply(OrderEvent.SUBMIT, T0)
    SqlTradeLog(db, account=ACCOUNT).record_order(order, OrderEvent.SUBMIT)


def _status(db: Database, coid: str) -> OrderStatus:
    with SqlUnitOfWork(db, read_only=True) as uow:
        order = uow.orders.get(ClientOrderId(coid))
    assert order is not None
    return order.status


def test_one_instance_recovers_everything_at_start_and_owns_every_strategy(
    database: Database,
) -> None:
    _left_by_a_dead_instance(database, "X1", "sma")
    broker, clock = BookBroker(), SimulatedClock(T0 + 120 * S)
    # no broker given: Plugins are built before it; start-up takes the service's own
    res = build_resilience(database, account=ACCOUNT, instance_id="me", strategies=["sma"])
    service = FakeService(database, broker, clock)
    report = res.startup(service)
    assert report is not None
    assert _status(database, "X1") is OrderStatus.CANCELLED  # never sent: closed
    assert res.owns("sma")
    assert res.fence(StrategyId("sma")) is None  # no leases: the trade log is not fenced
    assert [every for every, _ in res.periodic()] == [60.0]
    assert res.readiness().ok


def test_with_leases_each_strategy_is_recovered_when_gained_and_stopped_when_lost(
    database: Database,
) -> None:
    _left_by_a_dead_instance(database, "Y1", "rsi")
    leases, broker, clock = MemoryLeases(), BookBroker(), SimulatedClock(T0 + 120 * S)
    theirs = leases.acquire("rsi", "dead", 10 * S, T0)  # a dead instance held it
    assert theirs is not None
    res = build_resilience(
        database,
        broker,
        account=ACCOUNT,
        instance_id="me",
        strategies=["sma", "rsi"],
        leases=leases,
        clock=clock,
        lease_config=LeaseConfig(),
        reconcile_config=ReconcileConfig(confirm_window_ns=60 * S),
    )
    service = FakeService(database, broker, clock)
    assert res.startup(service) is None
    assert res.owns("sma")
    assert res.owns("rsi")  # its lease had run out
    assert res.fence(StrategyId("rsi")) == LeaseToken("me", 2)
    assert _status(database, "Y1") is OrderStatus.CANCELLED  # reconciled before trading it
    # both taken in one lease pass: recovered together, the broker's books read once
    assert [r.kind for r in res.reports] == ["takeover"]
    assert res.leases_held()
    assert res.readiness().ok

    # another instance takes "rsi" over while we are paused: the next pass finds it lost
    clock.ts_ns += 11 * S
    assert leases.acquire("rsi", "other", 10 * S, clock.ts_ns) is not None
    renew = dict(res.periodic())[LeaseConfig().renew_every_s]
    renew(clock.ts_ns)
    assert not res.owns("rsi")
    assert not res.owns("sma")  # ran out too, unrenewed while paused
    assert service.notifier.codes().count(LEASE_LOST) == 2
    renew(clock.ts_ns)  # the next pass takes back the one nobody else took, reconciled first
    assert res.owns("sma")
    assert not res.owns("rsi")
    assert [r.kind for r in res.reports] == ["takeover"] * 2  # both at start in one pass

    assert res.close() == ["sma"]
    assert not res.owns("sma")
    lease = leases.get("sma")
    assert lease is not None
    assert lease.owner is None


def test_a_takeover_whose_books_cannot_be_read_gives_the_lease_back(
    database: Database,
) -> None:
    class Unreadable(BookBroker):
        def books(self) -> tuple[list, list]:  # type: ignore[type-arg]
            raise RuntimeError("order book unreadable")

    leases, clock = MemoryLeases(), SimulatedClock(T0)
    broker = Unreadable()
    res = build_resilience(
        database,
        broker,
        account=ACCOUNT,
        instance_id="me",
        strategies=["sma"],
        leases=leases,
        clock=clock,
    )
    res.startup(FakeService(database, broker, clock))
    assert not res.owns("sma")
    lease = leases.get("sma")
    assert lease is not None
    assert lease.owner is None  # released for another instance to try
    assert AlertCode.CRASH_RECOVERY not in FakeService(database, broker, clock).notifier.codes()
