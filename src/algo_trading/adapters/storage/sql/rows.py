"""Conversions between rows (as mappings of column name to value) and the domain's values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

from sqlalchemy import String, Table

from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime
from algo_trading.domain.errors import OrderError, StorageError
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import (
    BrokerOrderId,
    ClientOrderId,
    StrategyId,
    TradeId,
    check_client_order_id,
)
from algo_trading.domain.orders import (
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
    Validity,
)
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus

__all__ = [
    "avg_fill_price",
    "check_fits",
    "command_from_row",
    "fill_from_row",
    "order_from_row",
    "order_values",
    "storable",
]

_TEN_THOUSANDTH = Decimal("0.0001")


def avg_fill_price(filled_value_paise: int, filled_quantity: int) -> Decimal | None:
    """Average fill price in rupees to 1/10,000, rounded half-even (display; the exact
    figure is `filled_value` / `filled_quantity`)."""
    if filled_quantity == 0:
        return None
    rupees = Decimal(filled_value_paise) / Decimal(filled_quantity) / 100
    return rupees.quantize(_TEN_THOUSANDTH, rounding=ROUND_HALF_EVEN)


@cache
def _widths(table: Table) -> tuple[tuple[str, int], ...]:
    return tuple(
        (c.name, c.type.length)
        for c in table.c
        if isinstance(c.type, String) and c.type.length is not None
    )


def check_fits(table: Table, values: Mapping[str, Any], *, prefix: str = "") -> None:
    """StorageError naming the column when a text value is longer than its column holds.

    PostgreSQL would raise a raw DataError and SQLite would store it whole; checked here, a
    value from a broker or a user is refused the same way on both, before the statement runs.
    """
    for name, width in _widths(table):
        value = values.get(prefix + name)
        if isinstance(value, str) and len(value) > width:
            raise StorageError(
                f"{table.name}.{name}: {value[:16]!r}... is {len(value)} characters, "
                f"the column holds {width}; not written"
            )


def storable(client_order_id: str) -> bool:
    """Whether a row can have this id: every write checks it, so a lookup of any other id
    finds nothing, on both databases (PostgreSQL would raise on a NUL, for one)."""
    try:
        check_client_order_id(client_order_id)
    except OrderError:
        return False
    return True


def order_values(order: Order) -> dict[str, Any]:
    """The columns that change over an order's life."""
    return {
        "status": order.status.value,
        "broker_order_id": order.broker_order_id,
        "filled_quantity": order.filled_quantity,
        "filled_value": order.fill_value_paise,
        "average_fill_price": avg_fill_price(order.fill_value_paise, order.filled_quantity),
        "rejection_reason": order.reason if order.status is OrderStatus.REJECTED else None,
        "updated_at": ns_to_datetime(order.updated_ns),
    }


def order_from_row(row: Mapping[Any, Any]) -> Order:
    """Rebuild the engine's live order, state included, from its row."""
    order = Order(
        ClientOrderId(row["client_order_id"]),
        StrategyId(row["strategy"]),
        row["symbol"],
        OrderSide(row["side"]),
        row["quantity"],
        OrderType(row["order_type"]),
        row["price"],
        row["trigger_price"],
        ProductType(row["product"]),
        Validity(row["validity"]),
        datetime_to_ns(row["created_at"]),
    )
    order.status = OrderStatus(row["status"])
    order.broker_order_id = (
        BrokerOrderId(row["broker_order_id"]) if row["broker_order_id"] is not None else None
    )
    order.filled_quantity = row["filled_quantity"]
    order.fill_value_paise = row["filled_value"]
    order.updated_ns = datetime_to_ns(row["updated_at"])
    order.reason = row["rejection_reason"] or ""
    order.tag = row["tag"]
    return order


def fill_from_row(row: Mapping[Any, Any]) -> Fill:
    return Fill(
        trade_id=TradeId(row["trade_id"]),
        client_order_id=ClientOrderId(row["client_order_id"]),
        strategy_id=StrategyId(row["strategy"]),
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        quantity=row["quantity"],
        price_paise=row["price"],
        ts_ns=datetime_to_ns(row["executed_at"]),
        product=ProductType(row["product"]),
        charges_paise=row["charges"],
    )


def command_from_row(row: Mapping[Any, Any]) -> CommandRecord:
    return CommandRecord(
        command_id=row["command_id"],
        kind=CommandKind(row["kind"]),
        requested_by=row["requested_by"],
        requested_ns=datetime_to_ns(row["requested_at"]),
        payload={str(k): str(v) for k, v in row["payload"].items()},
        account=row["account"],
        strategy_id=row["strategy"],
        status=CommandStatus(row["status"]),
        claimed_by=row["claimed_by"],
        outcome_code=row["outcome_code"],
        outcome_detail=row["outcome_detail"],
        updated_ns=datetime_to_ns(row["finished_at"] or row["claimed_at"] or row["requested_at"]),
        result={str(k): str(v) for k, v in (row.get("result") or {}).items()},
    )
