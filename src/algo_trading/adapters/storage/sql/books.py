"""The local books as start-up recovery reads them (issue #10, item 4): every position row of
an account with its open lots, and the orders carrying given broker tags.

Read-only helpers beside the repositories: recovery needs whole-account reads that the
trading path never makes (the trading path reads one order or one book at a time).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.rows import order_from_row
from algo_trading.domain.orders import Order, ProductType

__all__ = ["StoredPosition", "orders_by_tags", "stored_positions"]

POSITIONS: Table = metadata.tables["positions"]
ORDERS: Table = metadata.tables["orders"]
_TAG_BATCH = 500  # an IN list this long stays well under every driver's parameter limit


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """One `positions` row: the book's key, its open FIFO lots and its realized P&L."""

    strategy_id: str
    symbol: str
    exchange: str
    product: ProductType
    quantity: int
    cost_paise: int
    realized_pnl_paise: int
    lots: tuple[tuple[int, int], ...]  # (signed quantity, price paise), oldest first


def stored_positions(
    db: Database, account: str, strategies: Collection[str] | None = None
) -> list[StoredPosition]:
    """The account's position rows (only `strategies`' when given), in a stable order."""
    c = POSITIONS.c
    query = select(POSITIONS).where(c.account == account)
    if strategies is not None:
        query = query.where(c.strategy.in_(list(strategies)))
    rows = _read(db, query.order_by(c.strategy, c.symbol, c.product))
    return [
        StoredPosition(
            r["strategy"],
            r["symbol"],
            r["exchange"],
            ProductType(r["product"]),
            r["quantity"],
            r["cost"],
            r["realized_pnl"],
            tuple((int(q), int(p)) for q, p in json.loads(r["lots"])),
        )
        for r in rows
    ]


def orders_by_tags(db: Database, account: str, tags: Collection[str]) -> list[Order]:
    """The account's orders sent with any of `tags` (what reconciliation matches on)."""
    wanted = sorted(set(tags))
    found: list[Order] = []
    for start in range(0, len(wanted), _TAG_BATCH):
        batch = wanted[start : start + _TAG_BATCH]
        query = (
            select(ORDERS)
            .where(ORDERS.c.account == account, ORDERS.c.tag.in_(batch))
            .order_by(ORDERS.c.id)
        )
        found.extend(order_from_row(r) for r in _read(db, query))
    return found


def _read(db: Database, query: Any) -> list[Any]:
    try:
        with db.read_engine.connect() as conn:
            return [r._mapping for r in conn.execute(query)]
    except (OperationalError, InterfaceError) as exc:
        raise db.unavailable(exc) from exc
