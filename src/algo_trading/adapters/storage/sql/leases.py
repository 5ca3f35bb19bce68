"""Strategy leases on the database: which instance runs which strategy, in which term.

Each call is one transaction with its audit row (acquire, takeover, release; renewals are
too frequent to audit and change no owner). Two instances racing for one lease get exactly one
winner: on PostgreSQL the row is read FOR UPDATE (a racer waits, then sees the winner's
row) and a first lease is an INSERT … ON CONFLICT DO NOTHING (a racer inserts nothing); on
SQLite every writer holds the write lock from `BEGIN IMMEDIATE`.

Time is the caller's `now_ns`, from the service's Clock, so that tests control it and the
lease and the order it fences are stamped by the same clock. Clock skew between instances
cannot put a strategy in two hands: the epoch does that, checked by the database on every
intent (migration 0005), and a takeover changes the epoch in the same row the check reads.
Skew can only make a takeover early (the old owner is fenced sooner) or late (it waits
longer); `skew_ns` lets the service measure it against the database's clock.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Table, func, literal_column, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.commands import SqlAuditLog
from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.repositories import insert_or_skip
from algo_trading.adapters.storage.sql.rows import check_fits
from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Lease, LeaseToken

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from algo_trading.engine.ports import Leases

__all__ = ["ACQUIRE", "RELEASE", "TAKEOVER", "SqlLeases", "lease_subject"]

LEASES: Table = metadata.tables["leases"]
_T = TypeVar("_T")

# audit_log.action of each change of owner
ACQUIRE = "lease.acquire"  # the strategy had no owner (never leased, or released)
TAKEOVER = "lease.takeover"  # it had one whose lease had expired (or the same owner again)
RELEASE = "lease.release"


def lease_subject(strategy_id: str) -> str:
    return f"strategy:{strategy_id}"


def _lease(row: Mapping[Any, Any]) -> Lease:
    return Lease(
        strategy_id=row["strategy"],
        owner=row["owner"],
        epoch=row["epoch"],
        acquired_ns=datetime_to_ns(row["acquired_at"]),
        renewed_ns=datetime_to_ns(row["renewed_at"]),
        expires_ns=datetime_to_ns(row["expires_at"]),
    )


def _stored(ts_ns: int) -> int:
    """A time as the databases keep it (whole microseconds), so that what this code compares
    and what the database compares are the same instant."""
    return datetime_to_ns(ns_to_datetime(ts_ns))


def _check_ttl(ttl_ns: int) -> None:
    if ttl_ns <= 0:
        raise ConfigError(f"a lease's time to live must be positive, got {ttl_ns} ns")


class SqlLeases:
    """Implements `engine.ports.Leases`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, strategy_id: str, owner: str, ttl_ns: int, now_ns: int) -> Lease | None:
        _check_ttl(ttl_ns)
        check_fits(LEASES, {"strategy": strategy_id, "owner": owner})
        now_ns = _stored(now_ns)
        now, expires = ns_to_datetime(now_ns), ns_to_datetime(now_ns + ttl_ns)
        term = {"owner": owner, "acquired_at": now, "renewed_at": now, "expires_at": expires}
        return self._write(lambda c: self._acquire(c, strategy_id, owner, term, now_ns))

    def renew(self, strategy_id: str, token: LeaseToken, ttl_ns: int, now_ns: int) -> Lease | None:
        _check_ttl(ttl_ns)
        now_ns = _stored(now_ns)
        now = ns_to_datetime(now_ns)
        statement = (
            update(LEASES)
            .where(*self._held(strategy_id, token), LEASES.c.expires_at > now)
            .values(renewed_at=now, expires_at=ns_to_datetime(now_ns + ttl_ns))
            .returning(*LEASES.c)
        )

        def renew(c: Connection) -> Lease | None:
            row = c.execute(statement).one_or_none()
            return None if row is None else _lease(row._mapping)

        return self._write(renew)

    def release(self, strategy_id: str, token: LeaseToken, now_ns: int) -> bool:
        now = ns_to_datetime(now_ns)
        statement = (
            update(LEASES)
            .where(*self._held(strategy_id, token))
            .values(owner=None, renewed_at=now, expires_at=now)
        )

        def release(c: Connection) -> bool:
            if c.execute(statement).rowcount == 0:
                return False
            detail = f"epoch={token.epoch}"
            SqlAuditLog(c).append(token.owner, RELEASE, lease_subject(strategy_id), detail, now_ns)
            return True

        return self._write(release)

    def get(self, strategy_id: str) -> Lease | None:
        found = self._read(
            lambda c: c.execute(select(LEASES).where(LEASES.c.strategy == strategy_id))
        )
        return found[0] if found else None

    def held_by(self, owner: str, now_ns: int) -> list[Lease]:
        now = ns_to_datetime(now_ns)
        return self._read(
            lambda c: c.execute(
                select(LEASES)
                .where(LEASES.c.owner == owner, LEASES.c.expires_at > now)
                .order_by(LEASES.c.strategy)
            )
        )

    def available(self, now_ns: int) -> list[Lease]:
        now = ns_to_datetime(now_ns)
        return self._read(
            lambda c: c.execute(
                select(LEASES)
                .where(or_(LEASES.c.owner.is_(None), LEASES.c.expires_at <= now))
                .order_by(LEASES.c.expires_at, LEASES.c.strategy)
            )
        )

    def skew_ns(self, now_ns: int) -> int:
        """The caller's clock minus the database's, to alert on before it matters (a skew
        near the lease's time to live makes takeovers early or late by that much)."""
        if self._db.dialect == "postgresql":
            clock = select(func.clock_timestamp())
        else:  # SQLite: UTC, to the millisecond
            clock = select(literal_column("strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        try:
            with self._db.engine.connect() as c:
                value = c.execute(clock).scalar_one()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc
        return now_ns - _db_clock_ns(value)

    # --- inside one transaction ------------------------------------------------------------

    def _acquire(
        self,
        c: Connection,
        strategy_id: str,
        owner: str,
        term: dict[str, Any],
        now_ns: int,
    ) -> Lease | None:
        current = c.execute(
            select(LEASES).where(LEASES.c.strategy == strategy_id).with_for_update()
        ).one_or_none()
        if current is None:
            values = {"strategy": strategy_id, "epoch": 1, **term}
            statement = insert_or_skip(c.dialect.name, LEASES, ["strategy"]).returning(*LEASES.c)
            row = c.execute(statement, values).one_or_none()
            if row is None:  # another instance inserted it first, and holds it
                return None
            lease = _lease(row._mapping)
            self._audit(c, lease, ACQUIRE, "first lease", now_ns)
            return lease
        old = _lease(current._mapping)
        if old.owner not in (None, owner) and old.expires_ns > now_ns:
            return None  # held by another instance, unexpired
        row = c.execute(
            update(LEASES)
            .where(LEASES.c.strategy == strategy_id, LEASES.c.epoch == old.epoch)
            .values(epoch=old.epoch + 1, **term)
            .returning(*LEASES.c)
        ).one_or_none()
        if row is None:  # the epoch moved under us: another acquire won (belt and braces)
            return None
        lease = _lease(row._mapping)
        if old.owner is None:
            self._audit(c, lease, ACQUIRE, f"released in epoch {old.epoch}", now_ns)
        else:
            since = f"expired at {ns_to_datetime(old.expires_ns).isoformat()}"
            if old.expires_ns > now_ns:
                since = "still held by the same owner"
            detail = f"from {old.owner} epoch {old.epoch}, {since}"
            self._audit(c, lease, TAKEOVER, detail, now_ns)
        return lease

    @staticmethod
    def _audit(c: Connection, lease: Lease, action: str, why: str, now_ns: int) -> None:
        detail = f"epoch={lease.epoch} expires_ns={lease.expires_ns}; {why}"
        SqlAuditLog(c).append(
            lease.owner or "", action, lease_subject(lease.strategy_id), detail, now_ns
        )

    @staticmethod
    def _held(strategy_id: str, token: LeaseToken) -> tuple[Any, ...]:
        return (
            LEASES.c.strategy == strategy_id,
            LEASES.c.owner == token.owner,
            LEASES.c.epoch == token.epoch,
        )

    def _write(self, work: Callable[[Connection], _T]) -> _T:
        try:
            with self._db.engine.connect() as c:
                result = work(c)
                c.commit()
                return result
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc

    def _read(self, query: Callable[[Connection], Any]) -> list[Lease]:
        try:
            with self._db.read_engine.connect() as c:
                return [_lease(r._mapping) for r in query(c)]
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc


def _db_clock_ns(value: Any) -> int:
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.SSS', UTC
        value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return datetime_to_ns(value)


if TYPE_CHECKING:

    def _implements_the_port(db: Database) -> Leases:
        """Never called: mypy checks here that SqlLeases satisfies the engine's port."""
        return SqlLeases(db)
