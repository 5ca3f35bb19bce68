"""Positions per account, strategy, symbol, exchange and product, changed under a row lock.

Each fill reads the row `FOR UPDATE` (on SQLite the writer already holds the write lock),
rebuilds the open FIFO lots through `domain.positions.Position` and writes the result back,
so two fills for one symbol arriving together never lose an update and realized P&L is the
domain's own, to the paisa.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.sql.dml import Insert

from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.repositories import insert_or_skip
from algo_trading.adapters.storage.sql.types import Paise, ns_to_datetime
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import StrategyId
from algo_trading.domain.orders import ProductType
from algo_trading.domain.positions import Position, PositionSnapshot

__all__ = ["SqlPositionRepository"]

POSITIONS: Table = metadata.tables["positions"]


_POSITION_KEY = ("account", "strategy", "symbol", "exchange", "product")


@cache
def _position_insert(dialect: str) -> Insert:
    return insert_or_skip(dialect, POSITIONS, list(_POSITION_KEY))


_POSITION_LOCK = (
    select(POSITIONS.c.id, POSITIONS.c.lots, POSITIONS.c.realized_pnl)
    .where(*(POSITIONS.c[k] == bindparam(f"p_{k}") for k in _POSITION_KEY))
    .with_for_update()
)
_POSITION_UPDATE = (
    update(POSITIONS)
    .where(POSITIONS.c.id == bindparam("p_id"))
    .values(
        quantity=bindparam("p_quantity"),
        cost=bindparam("p_cost"),
        avg_price=bindparam("p_avg_price"),
        realized_pnl=bindparam("p_realized_pnl"),
        current_price=bindparam("p_current_price"),
        unrealized_pnl=bindparam("p_unrealized_pnl"),
        lots=bindparam("p_lots"),
        updated_at=bindparam("p_updated_at"),
    )
)


class SqlPositionRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    def apply_fill(self, fill: Fill, *, account: str, exchange: str) -> int:
        key = {
            "p_account": account,
            "p_strategy": fill.strategy_id,
            "p_symbol": fill.symbol,
            "p_exchange": exchange,
            "p_product": fill.product.value,
        }
        row = self._c.execute(_POSITION_LOCK, key).one_or_none()
        if row is None:
            new: dict[str, Any] = {k[2:]: v for k, v in key.items()}
            new.update(
                quantity=0,
                avg_price=Decimal(0),
                cost=0,
                realized_pnl=0,
                current_price=0,
                unrealized_pnl=0,
                lots="[]",
                updated_at=ns_to_datetime(fill.ts_ns),
            )
            self._c.execute(_position_insert(self._dialect), new)
            row = self._c.execute(_POSITION_LOCK, key).one()
        pos = Position(fill.symbol)
        for qty, price in json.loads(row.lots):
            pos.apply_fill(qty, price, fill.ts_ns)
        pos.realized_pnl_paise = row.realized_pnl
        realized = pos.apply_fill(
            fill.signed_quantity, fill.price_paise, fill.ts_ns, fill.charges_paise
        )
        snap = pos.snapshot()
        self._c.execute(
            _POSITION_UPDATE,
            {
                "p_id": row.id,
                "p_quantity": snap.quantity,
                "p_cost": snap.cost_paise,
                "p_avg_price": snap.avg_price,
                "p_realized_pnl": snap.realized_pnl_paise,
                "p_current_price": snap.last_price_paise,
                "p_unrealized_pnl": snap.unrealized_pnl_paise,
                "p_lots": json.dumps(pos.open_lots, separators=(",", ":")),
                "p_updated_at": ns_to_datetime(fill.ts_ns),
            },
        )
        return realized

    def get(
        self, account: str, strategy_id: StrategyId, symbol: str, product: ProductType
    ) -> PositionSnapshot | None:
        c = POSITIONS.c
        row = self._c.execute(
            select(c.symbol, c.quantity, c.cost, c.realized_pnl, c.current_price).where(
                c.account == account,
                c.strategy == strategy_id,
                c.symbol == symbol,
                c.product == product.value,
            )
        ).one_or_none()
        if row is None:
            return None
        return PositionSnapshot(
            symbol=row.symbol,
            quantity=row.quantity,
            cost_paise=row.cost,
            realized_pnl_paise=row.realized_pnl,
            last_price_paise=row.current_price,
        )

    def mark(self, symbol: str, price_paise: int, ts_ns: int) -> int:
        # quantity × price − cost is in the column's own unit on every database (rupees on
        # PostgreSQL, paise on SQLite), because the price is bound through the same type.
        price = bindparam("price", price_paise, type_=Paise())
        c = POSITIONS.c
        result = self._c.execute(
            update(POSITIONS)
            .where(c.symbol == symbol, c.quantity != 0)
            .values(
                current_price=price,
                unrealized_pnl=c.quantity * price - c.cost,
                updated_at=ns_to_datetime(ts_ns),
            )
        )
        return int(result.rowcount)
