"""One URL -> a configured SQLAlchemy engine, with errors a person can act on.

`Database(url)` builds nothing at import and connects only when first used. PostgreSQL URLs
use psycopg 3 (`postgresql://` is read as `postgresql+psycopg://`); a schema other than
`public` is chosen in the URL (`?options=-csearch_path%3Dmy_schema`). SQLite files get WAL
(readers never block the writer), foreign keys, recursive triggers, full fsync,
`BEGIN IMMEDIATE` for writing transactions so that two processes queue for the write lock
instead of failing half-way, and no schema changes outside the migrations (`sqlite_guard`).
A message about a database names its host, port, database and user, never its password.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from algo_trading.adapters.storage.sql.sqlite_guard import guard
from algo_trading.domain.errors import ConfigError, DatabaseUnavailableError

__all__ = ["Database", "describe_url", "parse_database_url"]

_READ_ONLY = "algo_read_only"
_SQLITE_BUSY_TIMEOUT_S = 30.0
_PG_CONNECT_TIMEOUT_S = 5


def parse_database_url(url: str) -> URL:
    """Parse and normalise a database URL; the error never repeats the URL (it may hold a
    password)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            "the database URL is not a valid URL (expected sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE; the value is not shown, it may hold a password)"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigError(
                "a SQLite database in memory is private to one connection; give a file: "
                "sqlite:///PATH"
            )
        return parsed
    raise ConfigError(
        f"database backend {backend!r} is not supported: use sqlite:///PATH or postgresql://..."
    )


def describe_url(url: URL) -> str:
    """'database "test" on 127.0.0.1:5432 as postgres', or 'SQLite database var/a.db'."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    host = url.host or "localhost"
    port = url.port or 5432
    user = f" as {url.username}" if url.username else ""
    return f'database "{url.database}" on {host}:{port}{user}'


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's reason on one line, without our own restatement of host and port."""
    raw = str(getattr(exc, "orig", None) or exc)
    line = "; ".join(" ".join(part.split()) for part in raw.splitlines() if part.strip())
    line = re.sub(r"^(connection failed: )?connection to server at .*? failed: ", "", line)
    line = re.sub(r"^(FATAL|ERROR):\s*", "", line)
    line = line.split(" (Background on this error", 1)[0]
    if url.password:
        line = line.replace(str(url.password), "***")
    return line[:300]


class Database:
    """An engine for writers (the trading path), and the same pool seen by readers (the
    dashboard: read-only transactions that take no locks a writer waits for)."""

    def __init__(self, url: str | URL, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = url if isinstance(url, URL) else parse_database_url(url)
        self.description = describe_url(self.url)
        self.engine = self._build_engine(pool_size, echo)
        self.read_engine = self.engine.execution_options(**{_READ_ONLY: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """Connect and run `SELECT 1`; DatabaseUnavailableError with the reason otherwise."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, InterfaceError) as exc:
            raise self.unavailable(exc, "connect to") from None

    def unavailable(self, exc: BaseException, verb: str = "use") -> DatabaseUnavailableError:
        """The driver's error as one line naming this database (never its password)."""
        return DatabaseUnavailableError(f"cannot {verb} {self.description}: {self.reason(exc)}")

    def reason(self, exc: BaseException) -> str:
        """The driver's reason for `exc` on one line, the password masked."""
        return _reason(exc, self.url)

    def dispose(self) -> None:
        self.engine.dispose()

    def _build_engine(self, pool_size: int, echo: bool) -> Engine:
        if self.url.get_backend_name() == "sqlite":
            return self._sqlite_engine(echo)
        try:
            engine = create_engine(
                self.url,
                echo=echo,
                pool_size=pool_size,
                pool_pre_ping=True,
                connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
            )
        except NoSuchModuleError as exc:
            raise ConfigError(f"{self.description}: driver not installed ({exc})") from None
        event.listen(engine, "begin", _pg_begin)
        return engine

    def _sqlite_engine(self, echo: bool) -> Engine:
        path = self.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailableError(
                    f"cannot use {self.description}: cannot create its folder: {exc.strerror}"
                ) from None
        engine = create_engine(
            self.url, echo=echo, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S}
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module: it would BEGIN lazily (DEFERRED),
    # so a reader that later writes can deadlock with another writer. We BEGIN ourselves.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        _set_wal(cur)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # REPLACE's implicit delete then fires the append-only DELETE triggers, so a unique
        # constraint added later cannot reopen the REPLACE hole closed in migration 0004
        cur.execute("PRAGMA recursive_triggers=ON")
    finally:
        cur.close()
    guard(dbapi_conn)  # no schema changes from here on, except in the migrations


def _set_wal(cur: Any) -> None:
    # Turning a fresh file to WAL needs the exclusive lock, and SQLite answers "database is
    # locked" at once, without its busy handler, when another process starting at the same
    # moment holds a lock: so wait here, bounded by the same busy timeout.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_S
    pause_s = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause_s > deadline:
                raise
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.25)


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _pg_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY, False):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
