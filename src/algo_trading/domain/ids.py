"""Typed identifiers: a ClientOrderId can't be passed where a BrokerOrderId is expected (mypy)."""

from __future__ import annotations

import re
from typing import NewType

from algo_trading.domain.errors import OrderError

__all__ = [
    "CLIENT_ORDER_ID_MAX_LEN",
    "BrokerOrderId",
    "ClientOrderId",
    "InstrumentToken",
    "StrategyId",
    "TradeId",
    "check_client_order_id",
]

ClientOrderId = NewType("ClientOrderId", str)
"""Our id for an order, unique across every copy of the service; sent to the broker as its tag."""

BrokerOrderId = NewType("BrokerOrderId", str)
"""The broker's id for an order (Angel One `orderid`)."""

InstrumentToken = NewType("InstrumentToken", str)
"""The broker's token for an instrument (Angel One `symboltoken`, e.g. "3045" for SBIN-EQ)."""

StrategyId = NewType("StrategyId", str)
"""The name a strategy instance runs under; carried on every order as its tag's prefix."""

TradeId = NewType("TradeId", str)
"""The id of one execution (fill) as reported by the venue."""


CLIENT_ORDER_ID_MAX_LEN = 64
"""The width of every client order id column (orders, order_events, trades, order_audit)."""

# ASCII letters, digits, '_' and '-': what a broker tag, a URL path, a CSV cell and a log line
# all carry unescaped. Anything else (spaces, quotes, '%', control or non-ASCII characters,
# which PostgreSQL and SQLite would store differently or not at all) is refused.
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_-]+")


def check_client_order_id(value: str) -> ClientOrderId:
    """`value` as a ClientOrderId, or OrderError naming what is wrong with it.

    Called where an order is created and again where one is stored, so that an id the database
    column cannot hold is refused the same way on PostgreSQL and SQLite, before either sees it.
    """
    if not isinstance(value, str) or not value:
        raise OrderError(f"client order id {value!r}: must be a non-empty string")
    if len(value) > CLIENT_ORDER_ID_MAX_LEN:
        raise OrderError(
            f"client order id {value[:16]!r}...: {len(value)} characters, "
            f"the most is {CLIENT_ORDER_ID_MAX_LEN}"
        )
    if not _CLIENT_ORDER_ID.fullmatch(value):
        bad = next(c for c in value if not _CLIENT_ORDER_ID.fullmatch(c))
        raise OrderError(
            f"client order id {value!r}: character {bad!r} is not allowed "
            "(only ASCII letters, digits, '_' and '-')"
        )
    return ClientOrderId(value)
