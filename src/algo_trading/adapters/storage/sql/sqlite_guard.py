"""SQLite's stand-in for the application role: the application's connections may not change
the schema.

SQLite has no roles; whoever can write the file can do anything, so file permissions are the
real boundary and the append-only triggers (which fire for every connection) are the guard.
What this adds: a connection made by `Database` refuses, through SQLite's authorizer, every
CREATE, DROP and ALTER, ATTACH, `PRAGMA writable_schema` and turning `recursive_triggers` off,
so a bug or an injected statement in the application cannot drop or edit a trigger. Only the
migrations (`schema.py`) lift it, for their own transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from algo_trading.domain.errors import StorageError

__all__ = ["check_foreign_keys", "guard", "schema_owner"]

_SCHEMA_CHANGES = frozenset(
    getattr(sqlite3, name)
    for name in dir(sqlite3)
    if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_"))
) | {sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
_FORBIDDEN_PRAGMAS = frozenset({"writable_schema", "recursive_triggers"})


def _authorize(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None
) -> int:
    if action in _SCHEMA_CHANGES:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg1 in _FORBIDDEN_PRAGMAS:
        # writable_schema edits sqlite_master by hand; recursive_triggers off reopens REPLACE
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def guard(dbapi_conn: Any) -> None:
    """Install the authorizer on a new sqlite3 connection (after our own PRAGMAs ran)."""
    dbapi_conn.set_authorizer(_authorize)


@contextmanager
def schema_owner(conn: Connection) -> Iterator[None]:
    """Lift the guard for the migrations run on `conn`, and put it back after (no-op on
    PostgreSQL, where the role in the URL decides). Enter it before the transaction begins.

    Foreign keys are off meanwhile, as Alembic's batch mode needs: it rebuilds a table by copy,
    drop and rename, and dropping a table that other rows refer to fails with them on. The
    migration checks them itself before it commits (`check_foreign_keys`).
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
    raw.set_authorizer(None)
    try:
        yield
    finally:
        raw.set_authorizer(_authorize)
        raw.execute("PRAGMA foreign_keys=ON")


def check_foreign_keys(conn: Connection) -> None:
    """StorageError naming the first broken reference, so the migration rolls back (SQLite;
    PostgreSQL never lets a reference break)."""
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        table, rowid, parent, _ = broken
        raise StorageError(
            f"after the migration {table} row {rowid} refers to a missing {parent} row; "
            "rolled back, the schema is unchanged"
        )
