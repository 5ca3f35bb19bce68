"""The TradeLog port (engine/ports.py), one suite for every implementation: the backtest's
MemoryTradeLog and SqlTradeLog on SQLite and PostgreSQL.

The log is driven the way the order manager drives it: the order's state changes first, then
`record_fill` (for an execution), then `record_order` with the event. What each
implementation kept is read back through its own reader, as (event, status) pairs and fills.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.domain import (
    ClientOrderId,
    Fill,
    Order,
    OrderEvent,
    OrderSide,
    OrderStatus,
    OrderType,
    StrategyId,
    TradeId,
)
from algo_trading.domain.errors import DuplicateOrderError
from algo_trading.engine import MemoryTradeLog, TradeLog
from tests.support.storage import fresh_schema, require_postgres

T0 = 1_700_000_000_000_000_000  # a whole microsecond: both databases keep microseconds
S = OrderStatus
E = OrderEvent


@dataclass
class LogUnderTest:
    log: TradeLog
    events: Callable[[str], list[tuple[OrderEvent, OrderStatus]]]
    fills: Callable[[str], list[Fill]]


def _memory() -> LogUnderTest:
    log = MemoryTradeLog()
    return LogUnderTest(
        log,
        lambda coid: [(E(e), S(s)) for c, e, s, _ in log.order_events if c == coid],
        lambda coid: [f for f in log.fills if f.client_order_id == coid],
    )


def _sql(db: Database) -> LogUnderTest:
    def events(coid: str) -> list[tuple[OrderEvent, OrderStatus]]:
        with SqlUnitOfWork(db, read_only=True) as uow:
            return uow.orders.events(ClientOrderId(coid))

    def fills(coid: str) -> list[Fill]:
        with SqlUnitOfWork(db, read_only=True) as uow:
            return uow.trades.for_order(ClientOrderId(coid))

    return LogUnderTest(SqlTradeLog(db), events, fills)


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('tradelog') / 'contract.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def postgresql_db() -> Iterator[Database]:
    base = require_postgres()  # skips with its reason; fails under CI=true
    with fresh_schema(base) as url:
        db = Database(url)
        upgrade(db)
        yield db
        db.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def subject(request: pytest.FixtureRequest) -> LogUnderTest:
    if request.param == "memory":
        return _memory()
    return _sql(request.getfixturevalue(f"{request.param}_db"))


def _order(quantity: int = 10, *, coid: str = "") -> Order:
    """A new limit order with an id no other test uses (the databases are shared)."""
    order = Order(
        ClientOrderId(coid or f"TL{uuid.uuid4().hex[:14]}"),
        StrategyId("contract"),
        f"SYM{uuid.uuid4().hex[:8]}",
        OrderSide.BUY,
        quantity,
        OrderType.LIMIT,
        10_050,
        created_ns=T0,
    )
    order.tag = f"c-{order.client_order_id}"[:19]
    return order


def _change(log: TradeLog, order: Order, event: OrderEvent, ts_ns: int) -> None:
    order.apply(event, ts_ns)
    log.record_order(order, event)


def _fill(log: TradeLog, order: Order, trade_id: str, quantity: int, ts_ns: int) -> Fill:
    """An execution reported by the broker, as the order manager records it."""
    price = 10_045
    status = order.apply_fill(quantity, price, ts_ns)
    fill = Fill(
        TradeId(trade_id),
        order.client_order_id,
        order.strategy_id,
        order.symbol,
        order.side,
        quantity,
        price,
        ts_ns,
        order.product,
        charges_paise=1_234,
    )
    log.record_fill(fill)
    log.record_order(order, E.FILL if status is S.FILLED else E.PARTIAL_FILL)
    return fill


def test_each_orders_events_and_fills_are_kept_in_the_order_they_happened(
    subject: LogUnderTest,
) -> None:
    a, b = _order(), _order()
    log = subject.log
    _change(log, a, E.SUBMIT, T0)
    _change(log, b, E.SUBMIT, T0 + 1_000)
    _change(log, a, E.ACCEPT, T0 + 2_000)
    _change(log, b, E.ACCEPT, T0 + 3_000)
    first = _fill(log, a, f"{a.client_order_id}-1", 4, T0 + 4_000)
    _change(log, b, E.CANCEL, T0 + 5_000)
    second = _fill(log, a, f"{a.client_order_id}-2", 6, T0 + 6_000)

    assert subject.events(a.client_order_id) == [
        (E.SUBMIT, S.SUBMITTED),
        (E.ACCEPT, S.OPEN),
        (E.PARTIAL_FILL, S.PARTIALLY_FILLED),
        (E.FILL, S.FILLED),
    ]
    assert subject.fills(a.client_order_id) == [first, second]
    assert subject.events(b.client_order_id) == [
        (E.SUBMIT, S.SUBMITTED),
        (E.ACCEPT, S.OPEN),
        (E.CANCEL, S.CANCELLED),
    ]
    assert subject.fills(b.client_order_id) == []


def test_a_fill_recorded_again_is_counted_once_and_later_fills_still_count(
    subject: LogUnderTest,
) -> None:
    order = _order()
    log = subject.log
    _change(log, order, E.SUBMIT, T0)
    _change(log, order, E.ACCEPT, T0 + 1_000)
    first = _fill(log, order, f"{order.client_order_id}-1", 4, T0 + 2_000)

    log.record_fill(first)  # the same execution reported again (a replay after a restart)

    assert subject.fills(order.client_order_id) == [first]
    assert subject.events(order.client_order_id)[-1] == (E.PARTIAL_FILL, S.PARTIALLY_FILLED)
    rest = _fill(log, order, f"{order.client_order_id}-2", 6, T0 + 3_000)
    assert subject.fills(order.client_order_id) == [first, rest]
    assert [e for e, _ in subject.events(order.client_order_id)] == [
        E.SUBMIT,
        E.ACCEPT,
        E.PARTIAL_FILL,
        E.FILL,
    ]


def test_a_second_intent_under_a_taken_client_order_id_is_refused_and_not_recorded(
    subject: LogUnderTest,
) -> None:
    first = _order()
    _change(subject.log, first, E.SUBMIT, T0)
    twin = _order(3, coid=first.client_order_id)
    twin.apply(E.SUBMIT, T0 + 1_000)

    with pytest.raises(DuplicateOrderError, match=first.client_order_id):
        subject.log.record_order(twin, E.SUBMIT)

    assert subject.events(first.client_order_id) == [(E.SUBMIT, S.SUBMITTED)]


def test_an_order_refused_before_it_was_sent_is_kept_with_its_refusal(
    subject: LogUnderTest,
) -> None:
    order = _order()
    _change(subject.log, order, E.REJECT, T0)  # our own risk check said no: never sent
    assert subject.events(order.client_order_id) == [(E.REJECT, S.REJECTED)]
    assert subject.fills(order.client_order_id) == []


def test_an_order_id_taken_by_a_refused_order_cannot_be_sent_afterwards(
    subject: LogUnderTest,
) -> None:
    refused = _order()
    _change(subject.log, refused, E.REJECT, T0)
    again = _order(coid=refused.client_order_id)
    again.apply(E.SUBMIT, T0 + 1_000)
    with pytest.raises(DuplicateOrderError):
        subject.log.record_order(again, E.SUBMIT)
