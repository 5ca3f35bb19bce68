"""The unit of work: one connection, one transaction, every repository on it.

`with SqlUnitOfWork(db) as uow: ...; uow.commit()` — leaving the block without `commit`
rolls back. `read_only=True` is the dashboard's kind: on PostgreSQL a READ ONLY transaction,
on SQLite a deferred one; in both, readers never make the trading path wait. SQLAlchemy Core
rather than the ORM session: these transactions run before every broker call, and the
session's bookkeeping would cost more than the database round trips.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.commands import (
    SqlAuditLog,
    SqlCommandRepository,
    SqlRunRepository,
)
from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.positions import SqlPositionRepository
from algo_trading.adapters.storage.sql.repositories import SqlOrderRepository, SqlTradeRepository
from algo_trading.domain.errors import StorageError

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """Implements `engine.ports.UnitOfWork`."""

    orders: SqlOrderRepository
    trades: SqlTradeRepository
    positions: SqlPositionRepository
    commands: SqlCommandRepository
    audit: SqlAuditLog
    runs: SqlRunRepository

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self._read_only = read_only
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise StorageError("a unit of work is not re-entrant; make a new one")
        engine = self._db.read_engine if self._read_only else self._db.engine
        try:
            c = self._conn = engine.connect()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc, "connect to") from exc
        self.orders = SqlOrderRepository(c)
        self.trades = SqlTradeRepository(c)
        self.positions = SqlPositionRepository(c)
        self.commands = SqlCommandRepository(c)
        self.audit = SqlAuditLog(c)
        self.runs = SqlRunRepository(c)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()  # nothing to undo after a commit
        finally:
            conn.close()

    @property
    def connection(self) -> Connection:
        """The connection itself, for the read side's own queries (the dashboard)."""
        if self._conn is None:
            raise StorageError("the unit of work is not open; use it in a `with` block")
        return self._conn

    def commit(self) -> None:
        if self._read_only:
            raise StorageError("a read-only unit of work cannot commit")
        try:
            self.connection.commit()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc

    def rollback(self) -> None:
        self.connection.rollback()
