"""The audit trail's answer to "was a strategy ever run by two instances at once?" (issue #10).

Every change of a strategy's owner is an append-only audit row (`leases.py`), so its terms
can be rebuilt: a term starts at its acquire or takeover and ends at its release or at the
next term's start. Every order row carries the term it was recorded under, and its first
event the instant the fence judged it. An intent outside its own term, or without a term
after the strategy's first lease, is an order sent by an instance that did not own the
strategy; the fence of migration 0005 is there to keep this list empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, Select, Table, func, select
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.leases import ACQUIRE, RELEASE, TAKEOVER, lease_subject
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import datetime_to_ns
from algo_trading.domain.errors import StorageError

__all__ = ["LeaseTerm", "intents_outside_their_term", "lease_terms"]

AUDIT: Table = metadata.tables["audit_log"]
ORDERS: Table = metadata.tables["orders"]
EVENTS: Table = metadata.tables["order_events"]

_EPOCH = re.compile(r"epoch=(\d+)")


@dataclass(frozen=True, slots=True)
class LeaseTerm:
    owner: str
    epoch: int
    start_ns: int
    end_ns: int | None  # None: not ended yet (held, or expired with nobody after it)

    def covers(self, ts_ns: int) -> bool:
        return self.start_ns <= ts_ns and (self.end_ns is None or ts_ns < self.end_ns)


def lease_terms(db: Database, strategy_id: str) -> list[LeaseTerm]:
    """The strategy's terms, oldest first, from the audit log alone."""
    query = (
        select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.detail, AUDIT.c.occurred_at)
        .where(
            AUDIT.c.subject == lease_subject(strategy_id),
            AUDIT.c.action.in_((ACQUIRE, TAKEOVER, RELEASE)),
        )
        .order_by(AUDIT.c.id)
    )
    terms: list[LeaseTerm] = []
    for row in _rows(db, query):
        epoch, at_ns = _epoch(row.detail), datetime_to_ns(row.occurred_at)
        if terms and terms[-1].end_ns is None:
            terms[-1] = replace(terms[-1], end_ns=at_ns)  # a release, or the next term, ends it
        if row.action != RELEASE:
            terms.append(LeaseTerm(row.actor, epoch, at_ns, None))
    return terms


def intents_outside_their_term(db: Database, strategy_id: str) -> list[str]:
    """Client order ids of the strategy's orders recorded outside the term they carry (or
    with none, after its first lease): empty when no two instances ever ran it at once."""
    terms = {(t.owner, t.epoch): t for t in lease_terms(db, strategy_id)}
    if not terms:
        return []
    first_start = min(t.start_ns for t in terms.values())
    earlier = EVENTS.alias("earlier")
    first_event = (
        select(func.min(earlier.c.id))
        .where(earlier.c.client_order_id == ORDERS.c.client_order_id)
        .correlate(ORDERS)
        .scalar_subquery()
    )
    query = (
        select(
            ORDERS.c.client_order_id,
            ORDERS.c.lease_owner,
            ORDERS.c.lease_epoch,
            EVENTS.c.occurred_at,
        )
        .select_from(ORDERS.join(EVENTS, EVENTS.c.id == first_event))
        .where(ORDERS.c.strategy == strategy_id)
        .order_by(ORDERS.c.id)
    )
    outside: list[str] = []
    for row in _rows(db, query):
        at_ns = datetime_to_ns(row.occurred_at)
        term = terms.get((row.lease_owner, row.lease_epoch))
        if (term is None and at_ns >= first_start) or (term is not None and not term.covers(at_ns)):
            outside.append(row.client_order_id)
    return outside


def _epoch(detail: str) -> int:
    found = _EPOCH.match(detail)
    if found is None:
        raise StorageError(f"audit_log: lease entry {detail[:40]!r} names no epoch")
    return int(found.group(1))


def _rows(db: Database, query: Select[Any]) -> list[Row[Any]]:
    try:
        with db.read_engine.connect() as conn:
            return list(conn.execute(query))
    except (OperationalError, InterfaceError) as exc:
        raise db.unavailable(exc) from exc
