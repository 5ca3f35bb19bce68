"""The engine's TradeLog on the database: intent before action, one commit per change.

`record_order(order, SUBMIT)` returns only after the order row, with its client order id, is
committed, and the order manager calls the broker only after it returns; a taken id raises
DuplicateOrderError, so the broker never hears of that order. On PostgreSQL the intent is
one statement (the order and its first event) in autocommit: atomic by itself, durable when
it returns, one round trip. Each fill is one transaction: the trade (once per trade id), the
position under its row lock, and the order's totals, status and event. A crash between any
two commits leaves rows from which reconciliation (`engine.reconciliation`) rebuilds the
truth against the broker's books.

With several instances (issue #10) the trade log is given a `fence`: the lease term this
instance holds for a strategy, or None. Every order row it inserts carries that term, and the
database refuses one whose term is not current (migration 0005), so an instance that lost
its lease, even one that does not know it yet, writes nothing and sends nothing:
`record_order` raises StaleLeaseError. Without a fence (one instance) nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.fence import fence_error
from algo_trading.adapters.storage.sql.repositories import SqlOrderRepository
from algo_trading.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import StrategyId
from algo_trading.domain.orders import Order, OrderEvent
from algo_trading.engine.ports import LeaseToken

if TYPE_CHECKING:
    from algo_trading.engine.ports import TradeLog, UnitOfWork

__all__ = ["SqlTradeLog"]

_FILL_EVENTS = (OrderEvent.FILL, OrderEvent.PARTIAL_FILL)

LeaseFence = Callable[[StrategyId], LeaseToken | None]
"""The lease term this instance holds for a strategy (None: it holds none): an in-memory
lookup, kept current by the service's lease keeper, so an intent costs no extra query."""


def _nse(_symbol: str) -> str:
    return "NSE"


class SqlTradeLog:
    """Implements `engine.ports.TradeLog` for one trading account."""

    def __init__(
        self,
        db: Database,
        *,
        account: str = "default",
        exchange_of: Callable[[str], str] = _nse,
        fence: LeaseFence | None = None,
    ) -> None:
        self._db = db
        self._account = account
        self._exchange_of = exchange_of
        self._fence = fence

    def record_order(self, order: Order, event: OrderEvent) -> None:
        if event is OrderEvent.SUBMIT:
            self._commit_intent(order, event)
            return
        with SqlUnitOfWork(self._db) as uow:
            if event in _FILL_EVENTS:
                # record_fill wrote the event with the trade; this only brings over what the
                # report added (a broker order id that came with the fill).
                uow.orders.save(order, None)
            elif not uow.orders.save(order, event):
                # first heard of here: refused by our own risk check before it was ever sent
                uow.orders.add(
                    order,
                    event,
                    account=self._account,
                    exchange=self._exchange_of(order.symbol),
                    lease=self._lease(order),
                )
            uow.commit()

    def record_fill(self, fill: Fill) -> None:
        exchange = self._exchange_of(fill.symbol)
        with SqlUnitOfWork(self._db) as uow:
            realized = uow.positions.apply_fill(fill, account=self._account, exchange=exchange)
            if not uow.trades.add(
                fill, account=self._account, exchange=exchange, realized_pnl_paise=realized
            ):
                uow.rollback()  # this trade id is already booked: undo the position change
                return
            uow.orders.add_fill(fill)
            uow.commit()

    def _lease(self, order: Order) -> LeaseToken | None:
        """The term the order is recorded under; StaleLeaseError, before any I/O, when the
        trade log is fenced and this instance holds no lease for the strategy."""
        if self._fence is None:
            return None
        token = self._fence(order.strategy_id)
        if token is None:
            raise fence_error(order.strategy_id, None)
        return token

    def _commit_intent(self, order: Order, event: OrderEvent) -> None:
        exchange = self._exchange_of(order.symbol)
        lease = self._lease(order)
        if self._db.dialect != "postgresql":
            with SqlUnitOfWork(self._db) as uow:
                uow.orders.add(order, event, account=self._account, exchange=exchange, lease=lease)
                uow.commit()
            return
        try:
            with self._db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                SqlOrderRepository(conn).add(
                    order, event, account=self._account, exchange=exchange, lease=lease
                )
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc


if TYPE_CHECKING:

    def _implements_the_ports(db: Database) -> tuple[TradeLog, UnitOfWork]:
        """Never called: mypy checks here that these classes satisfy the engine's ports."""
        return SqlTradeLog(db), SqlUnitOfWork(db)
