"""Orders waiting on a cancel or a change are stored as such (migration 0003): the database
keeps every state of the lifecycle table, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable

from algo_trading.adapters.storage.sql import SqlTradeLog, SqlUnitOfWork
from algo_trading.domain import ExecutionReport, OrderEvent, OrderStatus
from algo_trading.engine.order_manager import OrderChange
from tests.support.fakes import FakeBroker
from tests.support.storage import make_manager, submit

UoW = Callable[[], SqlUnitOfWork]


def test_a_cancel_and_a_change_waiting_on_the_broker_are_stored_with_what_follows(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    first, second = unique("PC"), unique("PM")
    manager = make_manager(FakeBroker(), trade_log, first, second)
    cancelled = submit(manager, unique("SYM"), price_paise=10_000)
    changed = submit(manager, unique("SYM"), price_paise=10_000)
    for order in (cancelled, changed):
        manager.apply(ExecutionReport(order.client_order_id, OrderEvent.ACCEPT, 1))
    manager.cancel(cancelled.client_order_id)
    assert manager.modify(changed.client_order_id, OrderChange(price_paise=10_050)) == ""
    manager.apply(ExecutionReport(cancelled.client_order_id, OrderEvent.CANCEL, 2))
    with uow() as u:
        stored = u.orders.get(changed.client_order_id)
        assert stored is not None
        assert stored.status is OrderStatus.PENDING_MODIFY
        # A change still unanswered after a crash is something reconciliation must check.
        assert changed.client_order_id in {
            o.client_order_id for o in u.orders.unresolved("default")
        }
        assert u.orders.events(cancelled.client_order_id) == [
            (OrderEvent.SUBMIT, OrderStatus.SUBMITTED),
            (OrderEvent.ACCEPT, OrderStatus.OPEN),
            (OrderEvent.CANCEL_REQUEST, OrderStatus.PENDING_CANCEL),
            (OrderEvent.CANCEL, OrderStatus.CANCELLED),
        ]
