"""Databases for storage tests: the local PostgreSQL (a fresh schema per use) and SQLite files.

PostgreSQL is found at 127.0.0.1:5432, database `test`, as `postgres` or `root` (trust auth);
`schema_url` gives a URL whose search_path is a schema of its own, so runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from algo_trading.domain import ClientOrderId, OrderSide, OrderType, ProductType, Validity
from algo_trading.domain.orders import Order, OrderIntent
from algo_trading.engine import (
    AllowAll,
    Broker,
    InlineSender,
    NoCharges,
    OrderManager,
    RiskCheck,
    SimulatedClock,
    TradeLog,
)

__all__ = [
    "PG_HOST",
    "PG_PORT",
    "ListIds",
    "NoView",
    "create_schema",
    "drop_schema",
    "find_postgres",
    "fresh_schema",
    "make_manager",
    "require_postgres",
    "submit",
]

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
_USERS = ("postgres", "root")


def _conninfo(user: str) -> str:
    return f"host={PG_HOST} port={PG_PORT} dbname={PG_DATABASE} user={user} connect_timeout=3"


def find_postgres() -> tuple[str | None, str]:
    """(base URL, '') for the first user that can connect, or (None, why not)."""
    reasons = []
    for user in _USERS:
        try:
            with psycopg.connect(_conninfo(user), autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            reasons.append(f"{user}: {' '.join(str(exc).split())}")
            continue
        return f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}", ""
    return None, "; ".join(reasons)


def require_postgres() -> str:
    """The base URL of the local PostgreSQL; the test skips saying why when it is unreachable,
    and fails instead under CI=true (CI has a server: its absence is a failure, issue #10
    item 12)."""
    url, why = find_postgres()
    if url is None:
        message = (
            f"PostgreSQL at {PG_HOST}:{PG_PORT} (database {PG_DATABASE}) is unreachable: {why}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _user_of(base_url: str) -> str:
    return base_url.split("://", 1)[1].split("@", 1)[0]


def create_schema(base_url: str) -> tuple[str, str]:
    """Create an empty schema with a unique name; returns (its name, a URL that uses it)."""
    name = f"algo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(_user_of(base_url)), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return name, f"{base_url}?options=-csearch_path%3D{name}"


def drop_schema(base_url: str, name: str) -> None:
    with psycopg.connect(_conninfo(_user_of(base_url)), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    name, url = create_schema(base_url)
    try:
        yield url
    finally:
        drop_schema(base_url, name)


class ListIds:
    """Hands out the client order ids it was given, in order."""

    def __init__(self, *ids: str) -> None:
        self._ids = [ClientOrderId(i) for i in ids]

    def next_id(self) -> ClientOrderId:
        return self._ids.pop(0)


class NoView:
    """A RiskView with nothing in it (AllowAll never looks)."""

    def position_quantity(self, symbol: str) -> int:
        return 0

    def cash_paise(self) -> int:
        return 0

    def equity_paise(self) -> int:
        return 0

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        return 0

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        return 0


def make_manager(
    broker: Broker,
    log: TradeLog,
    *ids: str,
    now_ns: int = 1_700_000_000_000_000_000,
    risk: RiskCheck | None = None,
) -> OrderManager:
    return OrderManager(
        InlineSender(broker),
        SimulatedClock(now_ns),
        ListIds(*ids),
        risk or AllowAll(),
        log,
        NoCharges(),
    )


def submit(
    manager: OrderManager,
    symbol: str,
    quantity: int = 10,
    *,
    side: OrderSide = OrderSide.BUY,
    strategy: str = "storage-test",
    price_paise: int | None = None,
) -> Order:
    """Create a DAY intraday order through the manager (market, or limit with a price)."""
    intent = OrderIntent(
        strategy,
        symbol,
        side,
        quantity,
        OrderType.MARKET if price_paise is None else OrderType.LIMIT,
        price_paise,
        None,
        ProductType.INTRADAY,
        Validity.DAY,
    )
    _, (order,) = manager.create(intent, NoView())
    return order
