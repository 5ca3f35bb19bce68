"""The trading path's repositories for orders and trades over one connection (positions
are in `positions.py`).

They never commit; the unit of work does. Statements are built once and run with parameters
(SQLAlchemy caches their compiled form; psycopg prepares them on the server), because these
run before every broker call and for every fill. Writes that two processes may race on are
made safe by the database, not by luck: a new client order id or trade id is an
`INSERT … ON CONFLICT DO NOTHING` whose returned row says who won, and a position or an
order's fill totals are read `FOR UPDATE` before they change (on SQLite the writing
transaction already holds the write lock, from `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert, ReturningInsert

from algo_trading.adapters.storage.sql.fence import fence_error, stale_lease
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.rows import (
    avg_fill_price,
    check_fits,
    fill_from_row,
    order_from_row,
    order_values,
    storable,
)
from algo_trading.adapters.storage.sql.types import UtcDateTime, ns_to_datetime
from algo_trading.domain.errors import DuplicateOrderError, StorageError
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId, check_client_order_id
from algo_trading.domain.orders import Order, OrderEvent, OrderStatus
from algo_trading.engine.ports import LeaseToken

__all__ = [
    "SqlOrderRepository",
    "SqlTradeRepository",
    "insert_or_skip",
]

ORDERS: Table = metadata.tables["orders"]
EVENTS: Table = metadata.tables["order_events"]
TRADES: Table = metadata.tables["trades"]

_UNRESOLVED = (
    OrderStatus.SUBMITTED.value,
    OrderStatus.OPEN.value,
    OrderStatus.TRIGGER_PENDING.value,
    OrderStatus.PARTIALLY_FILLED.value,
    OrderStatus.PENDING_CANCEL.value,  # a cancel or a change asked, the answer not yet in
    OrderStatus.PENDING_MODIFY.value,
)
_EVENTS_WITH_REASON = frozenset(
    {OrderEvent.REJECT, OrderEvent.CANCEL, OrderEvent.EXPIRE, OrderEvent.MODIFY}
)


def insert_or_skip(dialect: str, table: Table, keys: list[str]) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING, in the dialect's words."""
    if dialect == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)


@cache
def _order_insert(dialect: str) -> ReturningInsert[Any]:
    return insert_or_skip(dialect, ORDERS, ["client_order_id"]).returning(ORDERS.c.id)


_ORDER_COLUMNS = tuple(c.name for c in ORDERS.c if c.name != "id")
_EVENT_COLUMNS = tuple(c.name for c in EVENTS.c if c.name != "id")


@cache
def _order_with_event() -> ReturningInsert[Any]:
    """PostgreSQL: the order and its first event in one statement, so one round trip; a
    taken client order id inserts neither and returns no row."""
    new_order = (
        pg_insert(ORDERS)
        .values({name: bindparam(f"o_{name}") for name in _ORDER_COLUMNS})
        .on_conflict_do_nothing(index_elements=["client_order_id"])
        .returning(ORDERS.c.client_order_id)
        .cte("new_order")
    )
    first_event = select(
        new_order.c.client_order_id,
        *(
            bindparam(f"e_{name}", type_=EVENTS.c[name].type)
            for name in _EVENT_COLUMNS
            if name != "client_order_id"
        ),
    )
    return insert(EVENTS).from_select(list(_EVENT_COLUMNS), first_event).returning(EVENTS.c.id)


@cache
def _trade_insert(dialect: str) -> ReturningInsert[Any]:
    return insert_or_skip(dialect, TRADES, ["account", "trade_id"]).returning(TRADES.c.id)


_EVENT_INSERT = insert(EVENTS)
_ORDER_SAVE = (
    update(ORDERS)
    .where(ORDERS.c.client_order_id == bindparam("p_coid"))
    .values(
        status=bindparam("p_status"),
        broker_order_id=bindparam("p_broker_order_id"),
        filled_quantity=bindparam("p_filled_quantity"),
        filled_value=bindparam("p_filled_value"),
        average_fill_price=bindparam("p_average_fill_price"),
        rejection_reason=bindparam("p_rejection_reason"),
        updated_at=bindparam("p_updated_at"),
        acknowledged_at=func.coalesce(
            ORDERS.c.acknowledged_at, bindparam("p_ack", type_=UtcDateTime())
        ),
    )
)
_ORDER_FOR_FILL = (
    select(
        ORDERS.c.quantity,
        ORDERS.c.filled_quantity,
        ORDERS.c.filled_value,
        ORDERS.c.charges,
        ORDERS.c.broker_order_id,
    )
    .where(ORDERS.c.client_order_id == bindparam("p_coid"))
    .with_for_update()
)
_ORDER_FILL_UPDATE = (
    update(ORDERS)
    .where(ORDERS.c.client_order_id == bindparam("p_coid"))
    .values(
        status=bindparam("p_status"),
        filled_quantity=bindparam("p_filled_quantity"),
        filled_value=bindparam("p_filled_value"),
        average_fill_price=bindparam("p_average_fill_price"),
        charges=bindparam("p_charges"),
        updated_at=bindparam("p_updated_at"),
    )
)


class SqlOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    def add(
        self,
        order: Order,
        event: OrderEvent,
        *,
        account: str,
        exchange: str,
        lease: LeaseToken | None = None,
    ) -> None:
        """Insert the order with its first event, under `lease` when the strategy is leased:
        StaleLeaseError, nothing written, when that is not its current term (migration 0005)."""
        check_client_order_id(order.client_order_id)
        values = order_values(order)
        values.update(
            client_order_id=order.client_order_id,
            tag=order.tag,
            account=account,
            strategy=order.strategy_id,
            symbol=order.symbol,
            exchange=exchange,
            product=order.product.value,
            side=order.side.value,
            order_type=order.order_type.value,
            validity=order.validity.value,
            quantity=order.quantity,
            price=order.price_paise,
            trigger_price=order.trigger_price_paise,
            charges=0,
            created_at=ns_to_datetime(order.created_ns),
            acknowledged_at=values["updated_at"] if order.broker_order_id else None,
            lease_owner=None if lease is None else lease.owner,
            lease_epoch=None if lease is None else lease.epoch,
        )
        check_fits(ORDERS, values)
        try:
            added = self._insert(order, event, values)
        except DBAPIError as exc:
            if stale_lease(exc):
                raise fence_error(order.strategy_id, lease) from None
            raise
        if added is None:
            raise DuplicateOrderError(
                f"client order id {order.client_order_id} is already taken; "
                "this order was not recorded and must not be sent"
            )

    def _insert(self, order: Order, event: OrderEvent, values: dict[str, Any]) -> int | None:
        if self._dialect == "postgresql":
            params = {f"o_{k}": v for k, v in values.items()}
            params.update({f"e_{k}": v for k, v in self._event(order, event).items()})
            added: int | None = self._c.execute(_order_with_event(), params).scalar_one_or_none()
            return added
        added = self._c.execute(_order_insert(self._dialect), values).scalar_one_or_none()
        if added is not None:
            self._append(order, event)
        return added

    def save(self, order: Order, event: OrderEvent | None) -> bool:
        """Write the order's state (and append `event` if given); False if it is unknown."""
        check_client_order_id(order.client_order_id)
        values = {f"p_{k}": v for k, v in order_values(order).items()}
        values["p_coid"] = order.client_order_id
        values["p_ack"] = values["p_updated_at"] if order.broker_order_id else None
        check_fits(ORDERS, values, prefix="p_")  # the broker order id came from the broker
        if self._c.execute(_ORDER_SAVE, values).rowcount == 0:
            return False
        if event is not None:
            self._append(order, event)
        return True

    def add_fill(self, fill: Fill) -> OrderStatus:
        """Add an execution to the order's totals and status and append its event, in the
        caller's transaction (with the trade row: one fill, one commit)."""
        check_client_order_id(fill.client_order_id)
        row = self._c.execute(_ORDER_FOR_FILL, {"p_coid": fill.client_order_id}).one_or_none()
        if row is None:
            raise StorageError(f"fill {fill.trade_id}: order {fill.client_order_id} is unknown")
        filled = row.filled_quantity + fill.quantity
        if filled > row.quantity:
            raise StorageError(
                f"fill {fill.trade_id}: order {fill.client_order_id} would be filled "
                f"{filled} of {row.quantity}"
            )
        status = OrderStatus.FILLED if filled == row.quantity else OrderStatus.PARTIALLY_FILLED
        value = row.filled_value + fill.value_paise
        when = ns_to_datetime(fill.ts_ns)
        self._c.execute(
            _ORDER_FILL_UPDATE,
            {
                "p_coid": fill.client_order_id,
                "p_status": status.value,
                "p_filled_quantity": filled,
                "p_filled_value": value,
                "p_average_fill_price": avg_fill_price(value, filled),
                "p_charges": row.charges + fill.charges_paise,
                "p_updated_at": when,
            },
        )
        event = OrderEvent.FILL if status is OrderStatus.FILLED else OrderEvent.PARTIAL_FILL
        self._c.execute(
            _EVENT_INSERT,
            {
                "client_order_id": fill.client_order_id,
                "event": event.value,
                "status": status.value,
                "broker_order_id": row.broker_order_id,
                "filled_quantity": filled,
                "reason": "",
                "occurred_at": when,
            },
        )
        return status

    def get(self, client_order_id: ClientOrderId) -> Order | None:
        if not storable(client_order_id):
            return None
        row = self._c.execute(
            select(ORDERS).where(ORDERS.c.client_order_id == client_order_id)
        ).one_or_none()
        return None if row is None else order_from_row(row._mapping)

    def unresolved(self, account: str) -> list[Order]:
        rows = self._c.execute(
            select(ORDERS)
            .where(ORDERS.c.account == account, ORDERS.c.status.in_(_UNRESOLVED))
            .order_by(ORDERS.c.id)
        )
        return [order_from_row(r._mapping) for r in rows]

    def events(self, client_order_id: ClientOrderId) -> list[tuple[OrderEvent, OrderStatus]]:
        if not storable(client_order_id):
            return []
        rows = self._c.execute(
            select(EVENTS.c.event, EVENTS.c.status)
            .where(EVENTS.c.client_order_id == client_order_id)
            .order_by(EVENTS.c.id)
        )
        return [(OrderEvent(e), OrderStatus(s)) for e, s in rows]

    def _append(self, order: Order, event: OrderEvent) -> None:
        self._c.execute(_EVENT_INSERT, self._event(order, event))

    @staticmethod
    def _event(order: Order, event: OrderEvent) -> dict[str, Any]:
        return {
            "client_order_id": order.client_order_id,
            "event": event.value,
            "status": order.status.value,
            "broker_order_id": order.broker_order_id,
            "filled_quantity": order.filled_quantity,
            "reason": order.reason if event in _EVENTS_WITH_REASON else "",
            "occurred_at": ns_to_datetime(order.updated_ns),
        }


class SqlTradeRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    def add(self, fill: Fill, *, account: str, exchange: str, realized_pnl_paise: int) -> bool:
        check_client_order_id(fill.client_order_id)
        row = {
            "trade_id": fill.trade_id,
            "client_order_id": fill.client_order_id,
            "broker_order_id": None,
            "account": account,
            "strategy": fill.strategy_id,
            "symbol": fill.symbol,
            "exchange": exchange,
            "product": fill.product.value,
            "side": fill.side.value,
            "quantity": fill.quantity,
            "price": fill.price_paise,
            "charges": fill.charges_paise,
            "pnl": realized_pnl_paise,
            "executed_at": ns_to_datetime(fill.ts_ns),
        }
        check_fits(TRADES, row)  # the trade id came from the broker
        return self._c.execute(_trade_insert(self._dialect), row).scalar_one_or_none() is not None

    def trade_ids(self, client_order_ids: Collection[ClientOrderId]) -> set[str]:
        wanted = [c for c in client_order_ids if storable(c)]
        if not wanted:
            return set()
        rows = self._c.execute(
            select(TRADES.c.trade_id).where(TRADES.c.client_order_id.in_(wanted))
        )
        return {r[0] for r in rows}

    def for_order(self, client_order_id: ClientOrderId) -> list[Fill]:
        if not storable(client_order_id):
            return []
        rows = self._c.execute(
            select(TRADES).where(TRADES.c.client_order_id == client_order_id).order_by(TRADES.c.id)
        )
        return [fill_from_row(r._mapping) for r in rows]
