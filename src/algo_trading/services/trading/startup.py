"""Reconciliation at start, before any strategy runs (issue #10, item 4).

`reconcile_at_start` is the plain version the service uses until the start-up recovery
(`services/recovery.py`, the crash work) replaces it: the database's unresolved orders are
compared with the broker's order and trade books by tag (`engine.reconciliation`), every
difference is alerted, the orders are handed to the broker adapter to follow (never sent
again), and the reports that bring them to the broker's truth are applied through the engine,
so the trade log records them like any other report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.domain.orders import Order, OrderSnapshot
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    Reconciliation,
    reconcile,
)

if TYPE_CHECKING:
    from algo_trading.services.trading.service import TradingService

__all__ = ["BooksSource", "reconcile_at_start", "startup_reconciliation"]

log = logging.getLogger(__name__)


class BooksSource(Protocol):
    """AngelOneBroker's `books` and `follow`."""

    def books(self) -> tuple[list[BrokerOrder], list[BrokerTrade]]: ...

    def follow(
        self, order: OrderSnapshot, *, sent_ns: int, trade_ids: frozenset[str] = ...
    ) -> None: ...


def reconcile_at_start(
    service: TradingService, db: Database, broker: BooksSource, account: str
) -> Reconciliation:
    """Bring the unresolved orders of `account` to the broker's truth; alert each difference."""
    with SqlUnitOfWork(db, read_only=True) as uow:
        unresolved: list[Order] = uow.orders.unresolved(account)
        known = uow.trades.trade_ids([o.client_order_id for o in unresolved])
    broker_orders, broker_trades = broker.books()
    now = service.clock.now_ns()
    snapshots = [o.snapshot() for o in unresolved]
    result = reconcile(snapshots, broker_orders, broker_trades, known, now_ns=now)
    manager = service.engine.orders
    for order in unresolved:
        # The engine takes these orders over as they are stored; the adapter follows them.
        manager.orders[order.client_order_id] = order
        manager.working[order.client_order_id] = order
        broker.follow(order.snapshot(), sent_ns=order.updated_ns, trade_ids=frozenset(known))
    for decision in result.decisions:
        for report in decision.reports:
            service.engine.report(report)
        if decision.alert:
            service.notifier.notify(
                Alert(
                    AlertCode.RECONCILIATION_DIFF,
                    AlertSeverity.CRITICAL,
                    decision.alert,
                    now,
                    instance=service.instance_id,
                    account=account,
                )
            )
    if unresolved:
        service.notifier.notify(
            Alert(
                AlertCode.CRASH_RECOVERY,
                AlertSeverity.WARNING,
                f"{len(unresolved)} order(s) were unresolved at start; reconciled with the "
                "broker's books",
                now,
                instance=service.instance_id,
                account=account,
            )
        )
    service.engine.drain()
    log.info(
        "start-up reconciliation: %d unresolved order(s), %d broker order(s) not ours",
        len(unresolved),
        len(result.unmatched),
    )
    return result


def startup_reconciliation(
    db: Database, broker: BooksSource, account: str
) -> Callable[[TradingService], Reconciliation]:
    """The service's `startup` hook for this database and broker."""

    def startup(service: TradingService) -> Reconciliation:
        return reconcile_at_start(service, db, broker, account)

    return startup
