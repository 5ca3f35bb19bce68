"""The order audit trail on the database (`engine.ports.OrderAuditLog`): one row per decision,
appended and never changed (SEBI's five-year audit trail, indian-market.md §5.1).

Each record is durable when `record` returns, since the order manager writes the SUBMIT
decision before it calls the broker. On PostgreSQL that is one INSERT in autocommit (one
round trip); on SQLite a short writing transaction. Times are kept to the microsecond, what
both databases hold; the numbers are a JSON object of integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.rows import check_fits, storable
from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime
from algo_trading.domain.errors import StorageError
from algo_trading.domain.ids import ClientOrderId, StrategyId, check_client_order_id
from algo_trading.domain.orders import OrderSide
from algo_trading.market.audit import AuditStage, OrderAuditRecord

if TYPE_CHECKING:
    from algo_trading.engine.ports import OrderAuditLog

__all__ = ["SqlOrderAuditLog"]

ORDER_AUDIT: Table = metadata.tables["order_audit"]
_INSERT = insert(ORDER_AUDIT)


class SqlOrderAuditLog:
    """Implements `engine.ports.OrderAuditLog`, and reads an order's trail back."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, record: OrderAuditRecord) -> None:
        check_client_order_id(record.client_order_id)
        if record.parent_client_order_id is not None:
            check_client_order_id(record.parent_client_order_id)
        row = _row(record)
        check_fits(ORDER_AUDIT, row)
        try:
            if self._db.dialect == "postgresql":
                with self._db.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                    conn.execute(_INSERT, row)
                return
            with self._db.engine.begin() as conn:
                conn.execute(_INSERT, row)
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc

    def for_order(self, client_order_id: ClientOrderId) -> list[OrderAuditRecord]:
        """Every decision about one order, oldest first (a slice's parent has its own trail;
        each child names it in `parent_client_order_id`)."""
        if not storable(client_order_id):
            return []
        query = (
            select(ORDER_AUDIT)
            .where(ORDER_AUDIT.c.client_order_id == client_order_id)
            .order_by(ORDER_AUDIT.c.id)
        )
        try:
            with self._db.read_engine.connect() as conn:
                return [_record(r._mapping) for r in conn.execute(query)]
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc


def _row(record: OrderAuditRecord) -> dict[str, Any]:
    return {
        "occurred_at": ns_to_datetime(record.ts_ns),
        "stage": record.stage.value,
        "decision_code": record.decision_code,
        "strategy": record.strategy_id,
        "order_tag": record.order_tag,
        "client_order_id": record.client_order_id,
        "symbol": record.symbol,
        "side": record.side.value,
        "quantity": record.quantity,
        "price": record.price_paise,
        "numbers": dict(record.numbers),
        "detail": record.detail,
        "parent_client_order_id": record.parent_client_order_id,
    }


def _record(row: Mapping[Any, Any]) -> OrderAuditRecord:
    numbers = row["numbers"]
    if not isinstance(numbers, dict) or any(type(v) is not int for v in numbers.values()):
        raise StorageError(f"order_audit row {row['id']}: numbers {numbers!r} are not integers")
    parent = row["parent_client_order_id"]
    return OrderAuditRecord(
        ts_ns=datetime_to_ns(row["occurred_at"]),
        stage=AuditStage(row["stage"]),
        decision_code=row["decision_code"],
        strategy_id=StrategyId(row["strategy"]),
        order_tag=row["order_tag"],
        client_order_id=ClientOrderId(row["client_order_id"]),
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        quantity=row["quantity"],
        price_paise=row["price"],
        numbers=tuple(sorted(numbers.items())),
        detail=row["detail"],
        parent_client_order_id=None if parent is None else ClientOrderId(parent),
    )


if TYPE_CHECKING:

    def _implements_the_port(db: Database) -> OrderAuditLog:
        """Never called: mypy checks here that the class satisfies the engine's port."""
        return SqlOrderAuditLog(db)
