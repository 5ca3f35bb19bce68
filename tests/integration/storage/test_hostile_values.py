"""Values a column cannot hold are refused before the database sees them, the same way on
SQLite and PostgreSQL (issue 15): a client order id too long or outside its alphabet is an
OrderError, a too-long id from the broker a StorageError; never a raw DataError from
PostgreSQL while SQLite quietly stores the same value, and nothing is half-written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import Database, SqlOrderAuditLog, SqlTradeLog, SqlUnitOfWork
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain import (
    BrokerOrderId,
    ClientOrderId,
    Fill,
    OrderEvent,
    OrderSide,
    OrderStatus,
    ProductType,
    StrategyId,
    TradeId,
)
from algo_trading.domain.errors import OrderError, StorageError
from algo_trading.domain.ids import CLIENT_ORDER_ID_MAX_LEN
from algo_trading.domain.orders import Order
from algo_trading.market.audit import AuditStage, audit_record
from tests.support.fakes import FakeBroker
from tests.support.storage import make_manager, submit

T0 = 1_700_000_000_000_000_000

# What the probe of issue 15 sent, and more of the same kind: too long for the column, and
# characters PostgreSQL refuses (NUL) or stores differently from SQLite, or a broker tag can't.
_HOSTILE_SUFFIXES = {
    "one past the column": "A" * (CLIENT_ORDER_ID_MAX_LEN + 1),
    "ten thousand characters": "9" * 10_000,
    "NUL": "\x00",
    "space": " x",
    "quote": "'; DROP TABLE orders; --",
    "newline": "\nforged log line",
    "non-ASCII letter": "é",
    "non-ASCII digit": "١",
    "emoji": "\U0001f4b8",
    "lone surrogate": "\udc80",
    "formula": "=HYPERLINK(1)",
    "percent": "%s%n",
}


def _count(db: Database, table: str, column: str, prefix: str) -> int:
    t = metadata.tables[table]
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(t).where(t.c[column].like(f"{prefix}%"))
        return int(conn.execute(query).scalar_one())


def _order(coid: str, symbol: str) -> Order:
    return Order(ClientOrderId(coid), StrategyId("hostile"), symbol, OrderSide.BUY, 1)


@pytest.mark.parametrize("kind", sorted(_HOSTILE_SUFFIXES))
def test_a_client_order_id_the_column_cannot_hold_is_refused_before_the_broker_hears_of_it(
    database: Database, trade_log: SqlTradeLog, unique: Callable[[str], str], kind: str
) -> None:
    prefix = unique("H")
    coid = prefix + _HOSTILE_SUFFIXES[kind]
    broker = FakeBroker()
    manager = make_manager(broker, trade_log, coid)

    with pytest.raises(OrderError, match="client order id"):
        submit(manager, unique("SYM"))

    assert broker.submitted == []
    assert _count(database, "orders", "client_order_id", prefix) == 0
    assert _count(database, "order_events", "client_order_id", prefix) == 0


@pytest.mark.parametrize("kind", sorted(_HOSTILE_SUFFIXES))
def test_every_write_of_a_client_order_id_refuses_it_the_same_way(
    database: Database, trade_log: SqlTradeLog, unique: Callable[[str], str], kind: str
) -> None:
    prefix = unique("W")
    coid = ClientOrderId(prefix + _HOSTILE_SUFFIXES[kind])
    symbol = unique("SYM")
    # Built with a plain id, then given the hostile one: this is the storage boundary's test,
    # whether or not the domain's constructors check ids too.
    refused = _order(prefix, symbol)
    refused.apply(OrderEvent.REJECT, T0, "risk said no")
    refused.client_order_id = coid
    fill = Fill(
        TradeId(unique("T")),
        ClientOrderId(prefix),
        StrategyId("hostile"),
        symbol,
        OrderSide.BUY,
        1,
        100,
        T0,
        ProductType.INTRADAY,
        0,
    )
    record = audit_record(
        T0,
        AuditStage.INTENT,
        "ORDER_REQUESTED",
        strategy_id=StrategyId("hostile"),
        client_order_id=ClientOrderId(prefix),
        symbol=symbol,
        side=OrderSide.BUY,
        quantity=1,
    )
    for frozen in (fill, record):
        object.__setattr__(frozen, "client_order_id", coid)
    writes: dict[str, Callable[[], None]] = {
        "a refused order": lambda: trade_log.record_order(refused, OrderEvent.REJECT),
        "a fill": lambda: trade_log.record_fill(fill),
        "an audit record": lambda: SqlOrderAuditLog(database).record(record),
    }
    outcomes = {}
    for name, write in writes.items():
        try:
            write()
            outcomes[name] = "written"
        except OrderError:
            outcomes[name] = "OrderError"
        except DBAPIError as exc:  # what PostgreSQL raised before issue 15
            outcomes[name] = type(exc).__name__
    assert outcomes == dict.fromkeys(writes, "OrderError")
    for table in ("orders", "order_events", "trades", "order_audit"):
        assert _count(database, table, "client_order_id", prefix) == 0, table
    with SqlUnitOfWork(database, read_only=True) as uow:
        assert uow.orders.get(coid) is None
        assert uow.orders.events(coid) == []
        assert uow.trades.for_order(coid) == []
        assert SqlOrderAuditLog(database).for_order(coid) == []
        position = uow.positions.get("default", StrategyId("hostile"), symbol, ProductType.INTRADAY)
    assert position is None


def test_a_client_order_id_as_wide_as_its_column_is_kept_whole(
    database: Database, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    prefix = unique("F")
    coid = ClientOrderId(prefix + "z" * (CLIENT_ORDER_ID_MAX_LEN - len(prefix)))
    order = _order(coid, unique("SYM"))
    order.apply(OrderEvent.SUBMIT, T0)
    trade_log.record_order(order, OrderEvent.SUBMIT)
    with SqlUnitOfWork(database, read_only=True) as uow:
        stored = uow.orders.get(coid)
    assert stored is not None
    assert stored.client_order_id == coid


def test_ids_from_the_broker_too_long_for_their_columns_are_a_storage_error(
    database: Database, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid, symbol = ClientOrderId(unique("B")), unique("SYM")
    order = _order(coid, symbol)
    order.apply(OrderEvent.SUBMIT, T0)
    trade_log.record_order(order, OrderEvent.SUBMIT)
    order.broker_order_id = BrokerOrderId("9" * 65)
    order.apply(OrderEvent.ACCEPT, T0 + 1)
    with pytest.raises(StorageError, match=r"orders\.broker_order_id: .* the column holds 64"):
        trade_log.record_order(order, OrderEvent.ACCEPT)
    fill = Fill(
        TradeId("t" * 65),
        coid,
        StrategyId("hostile"),
        symbol,
        OrderSide.BUY,
        1,
        100,
        T0 + 2,
        ProductType.INTRADAY,
        0,
    )
    with pytest.raises(StorageError, match=r"trades\.trade_id: .* the column holds 64"):
        trade_log.record_fill(fill)
    with SqlUnitOfWork(database) as uow:
        with pytest.raises(StorageError, match=r"audit_log\.actor"):
            uow.audit.append("x" * 65, "KILL_SWITCH", "all", "", T0)
        assert uow.trades.for_order(coid) == []
        assert uow.orders.events(coid) == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.text(max_size=80))
def test_any_client_order_id_is_stored_exactly_or_refused_with_an_order_error(
    database: Database, suffix: str
) -> None:
    """The same text gets the same answer on both databases: kept whole, or OrderError."""
    coid = ClientOrderId(f"P{uuid.uuid4().hex[:8]}{suffix}")
    order = _order(f"P{uuid.uuid4().hex[:8]}", f"SYM{uuid.uuid4().hex[:8]}")
    order.client_order_id = coid
    order.apply(OrderEvent.SUBMIT, T0)
    try:
        SqlTradeLog(database).record_order(order, OrderEvent.SUBMIT)
    except OrderError:
        assert not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", coid)
        return
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", coid)
    with SqlUnitOfWork(database, read_only=True) as uow:
        stored = uow.orders.get(coid)
    assert stored is not None
    assert stored.client_order_id == coid
