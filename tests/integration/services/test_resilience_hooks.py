"""The hooks the trading service plugs in (services/resilience.py): start-up recovery before
any strategy, per-strategy recovery on a lease gained, an alert and `owns() == False` on a
lease lost, the periodic passes, the release on drain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.domain.ids import BrokerOrderId, ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderEvent, OrderSide, OrderStatus
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import AlertCode, LeaseToken
from algo_trading.engine.reconciliation import BrokerOrder, BrokerTrade, ReconcileConfig
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
    assert res.periodic() == []  # the minute's round is `reconcile`, the service's own cadence
    minute = res.reconcile(clock.now_ns())  # the service calls it each minute
    assert minute is not None
    assert minute.kind == "periodic"
    assert res.rounds == 1
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


class SharingBroker(BookBroker):
    """A broker that reads its rows once a round and settles its orders in doubt from them;
    `during_read` plays the sender thread placing an order while the books are being read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.settled: list[object] = []
        self.during_read: Callable[[], None] | None = None

    def read_books(self) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        self.reads += 1
        rows = (list(self.orders), list(self.trades))
        if self.during_read is not None:
            self.during_read()
            self.during_read = None
        return rows

    def books(  # type: ignore[override]
        self, rows: tuple[list[BrokerOrder], list[BrokerTrade]] | None = None
    ) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        return rows if rows is not None else self.read_books()

    def reconcile(self, rows: object = None) -> None:
        self.settled.append(rows)


def test_a_minutes_round_reads_the_books_once_after_taking_the_orders_it_judges(
    database: Database,
) -> None:
    """The adapter settles from the rows the pass read (one read a round), and an order sent
    while the books were being read is not judged against them (no false difference)."""
    broker, clock = SharingBroker(), SimulatedClock(T0 + 120 * S)
    res = build_resilience(database, account=ACCOUNT, instance_id="me", strategies=["sma"])
    service = FakeService(database, broker, clock)
    res.startup(service)
    reads = broker.reads

    def sent_meanwhile() -> None:  # placed and acknowledged by the broker after the read
        order = Order(ClientOrderId("Z1"), StrategyId("sma"), "SBIN-EQ", OrderSide.BUY, 1)
        order.tag = "sma-Z1"
        order.apply(OrderEvent.SUBMIT, clock.now_ns())
        log = SqlTradeLog(database, account=ACCOUNT)
        log.record_order(order, OrderEvent.SUBMIT)
        order.broker_order_id = BrokerOrderId("B-Z1")
        order.apply(OrderEvent.ACCEPT, clock.now_ns())
        log.record_order(order, OrderEvent.ACCEPT)

    broker.during_read = sent_meanwhile
    report = res.reconcile(clock.now_ns())
    assert report is not None
    assert broker.reads == reads + 1
    assert len(broker.settled) == 1
    assert broker.settled[0] is not None  # the round's rows, not a read of its own
    assert report.unresolved == ()
    assert AlertCode.RECONCILIATION_DIFF not in service.notifier.codes()
