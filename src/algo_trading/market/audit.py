"""The order audit trail: one immutable record per order decision, and the broker order tag.

SEBI's retail-algo framework makes the broker keep an audit trail of algo orders for five years
(indian-market.md §5.1); ours records every decision on the way - intent, risk, throttle, slice,
send, modify, cancel - with its stable code and its numbers, so a refusal can be explained later
(STYLE habit 10). Records are values; an append-only store comes with the storage layer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from algo_trading.domain.errors import OrderError
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import OrderSide

__all__ = [
    "ORDER_TAG_MAX_LEN",
    "AuditStage",
    "AuditedOrder",
    "OrderAuditRecord",
    "audit_order",
    "audit_record",
    "order_tag",
]

ORDER_TAG_MAX_LEN = 19
"""Angel One refuses an `ordertag` of 20 characters or more (AB4008, angel-one-smartapi.md §1.8)."""

_TAG_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PREFIX_LEN = 6
_HASH_LEN = ORDER_TAG_MAX_LEN - _PREFIX_LEN - 1


def order_tag(strategy_id: str, client_order_id: str) -> str:
    """A broker-legal tag (< 20 characters) naming the strategy and the order.

    When `<strategy>-<client order id>` fits and the id has only letters, digits, '_' and '-',
    that is the tag, readable in the broker's order book. Otherwise it is the strategy's first
    six letters or digits and a 12-character base32 digest of the client order id (60 bits),
    so reconciliation can recompute it. Client order ids are unique across the service, so the
    readable form is unique too. Angel's allowed character set is not documented; we send only
    letters, digits, '_' and '-'.
    """
    prefix = "".join(c for c in strategy_id if c.isascii() and c.isalnum())
    if not prefix:
        raise OrderError(f"order tag: strategy id {strategy_id!r} has no letters or digits")
    if not client_order_id:
        raise OrderError(f"order tag for {strategy_id}: empty client order id")
    readable = f"{prefix}-{client_order_id}"
    if len(readable) <= ORDER_TAG_MAX_LEN and _TAG_SAFE.fullmatch(client_order_id):
        return readable
    digest = hashlib.blake2b(client_order_id.encode(), digest_size=8).digest()
    code = base64.b32encode(digest).decode("ascii")[:_HASH_LEN]
    return f"{prefix[:_PREFIX_LEN]}-{code}"


class AuditStage(StrEnum):
    """Where on an order's way the decision was taken (DESIGN.md, "Data flow of one order")."""

    INTENT = "INTENT"  # the strategy asked
    RISK = "RISK"  # the risk manager allowed or refused
    THROTTLE = "THROTTLE"  # the throttle gave a send time
    SLICE = "SLICE"  # a parent was split at the freeze quantity
    SUBMIT = "SUBMIT"  # sent to the broker
    MODIFY = "MODIFY"
    CANCEL = "CANCEL"
    BROKER = "BROKER"  # the broker's answer: accepted, rejected and why


@dataclass(frozen=True, slots=True)
class OrderAuditRecord:
    """One order decision: what, when (epoch ns), for which strategy and order, the decision's
    stable code and the integer numbers behind it (paise, units, ns)."""

    ts_ns: int
    stage: AuditStage
    decision_code: str
    strategy_id: StrategyId
    order_tag: str
    client_order_id: ClientOrderId
    symbol: str
    side: OrderSide
    quantity: int
    price_paise: int | None
    numbers: tuple[tuple[str, int], ...]
    detail: str = ""
    parent_client_order_id: ClientOrderId | None = None

    def number(self, name: str) -> int:
        """One of the decision's numbers by name; KeyError if it was not recorded."""
        for key, value in self.numbers:
            if key == name:
                return value
        raise KeyError(name)

    def summary(self) -> str:
        """'RISK DAILY_LOSS_LIMIT: limit=500000, loss=612000' - the line shown to an operator."""
        figures = ", ".join(f"{k}={v}" for k, v in self.numbers)
        text = f"{self.stage.value} {self.decision_code}"
        return f"{text}: {figures}" if figures else text


def audit_record(
    ts_ns: int,
    stage: AuditStage,
    decision_code: str,
    *,
    strategy_id: StrategyId,
    client_order_id: ClientOrderId,
    symbol: str,
    side: OrderSide,
    quantity: int,
    price_paise: int | None = None,
    numbers: Mapping[str, int] | None = None,
    detail: str = "",
    parent_client_order_id: ClientOrderId | None = None,
) -> OrderAuditRecord:
    """Build a checked record. The code is UPPER_SNAKE and stable, the numbers are integers
    named in lower_snake (sorted, so equal decisions give equal records), the detail one line."""
    where = f"audit {client_order_id}"
    if ts_ns < 0:
        raise OrderError(f"{where}: time {ts_ns} ns is before the epoch")
    if not _CODE.fullmatch(decision_code):
        raise OrderError(f"{where}: decision code {decision_code!r} is not UPPER_SNAKE")
    if quantity < 0:
        raise OrderError(f"{where}: quantity {quantity} is negative")
    if "\n" in detail or "\r" in detail:
        raise OrderError(f"{where}: detail must be one line")
    figures = dict(numbers or {})
    for name, value in figures.items():
        if not _NAME.fullmatch(name):
            raise OrderError(f"{where}: number name {name!r} is not lower_snake")
        if type(value) is not int:
            raise OrderError(f"{where}: number {name}={value!r} is not an integer")
    return OrderAuditRecord(
        ts_ns=ts_ns,
        stage=stage,
        decision_code=decision_code,
        strategy_id=strategy_id,
        order_tag=order_tag(strategy_id, client_order_id),
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        quantity=quantity,
        price_paise=price_paise,
        numbers=tuple(sorted(figures.items())),
        detail=detail,
        parent_client_order_id=parent_client_order_id,
    )


class AuditedOrder(Protocol):
    """What a record reads of an order: the engine's live Order and an OrderSnapshot both
    have it."""

    @property
    def strategy_id(self) -> StrategyId: ...
    @property
    def client_order_id(self) -> ClientOrderId: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> OrderSide: ...
    @property
    def quantity(self) -> int: ...
    @property
    def price_paise(self) -> int | None: ...


def audit_order(
    order: AuditedOrder,
    ts_ns: int,
    stage: AuditStage,
    decision_code: str,
    *,
    numbers: Mapping[str, int] | None = None,
    detail: str = "",
    parent_client_order_id: ClientOrderId | None = None,
) -> OrderAuditRecord:
    """A record for a decision about an existing order, its fields taken from the snapshot."""
    return audit_record(
        ts_ns,
        stage,
        decision_code,
        strategy_id=order.strategy_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        price_paise=order.price_paise,
        numbers=numbers,
        detail=detail,
        parent_client_order_id=parent_client_order_id,
    )
