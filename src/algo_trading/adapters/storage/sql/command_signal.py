"""Wake the trading service when a command is written (issue #10 item 7: picked up within a second).

On PostgreSQL one connection of its own LISTENs on `algo_commands`, which the trigger of
migration 0006 NOTIFYs on every insert into `commands` (the payload names the schema, so
another schema's commands in the same database do not count). Notifications that arrive
between two waits are kept by the connection, so none is missed once `arm` has run: arm first,
then look for pending commands, then wait. On SQLite there is nothing to listen to: `wait`
looks for a new row every `poll_interval_s` (the table's largest id: an index read).

A lost listening connection is not an error the caller must handle: `wait` reports "maybe"
(True), the caller polls the table as it always does, and the next `arm` connects again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import psycopg
from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata

__all__ = ["CHANNEL", "CommandSignal"]

CHANNEL = "algo_commands"
COMMANDS: Table = metadata.tables["commands"]
_RETRY_AFTER_FAILURE_S = 0.5


class CommandSignal:
    """`arm()`, then `wait(timeout_s) -> bool`: True when a command may be waiting (a
    notification, a new row, a lost listener, or `wake()`), False when the time ran out."""

    def __init__(self, db: Database, *, poll_interval_s: float = 0.1) -> None:
        self._db = db
        self._poll_interval_s = poll_interval_s
        self._listener: Any = None  # psycopg.Connection, autocommit, LISTENing
        self._schema = ""
        self._failed_at: float | None = None
        self._newest_id: int | None = None  # SQLite: the newest command row seen
        self._woken = threading.Event()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def arm(self) -> None:
        """Start listening (PostgreSQL; nothing on SQLite). Idempotent; a failure to connect
        is kept quiet here and retried later: the table is polled meanwhile."""
        if self._db.dialect != "postgresql":
            if self._newest_id is None:
                self._newest_id = self._read_newest()
            return
        if self._listener is not None:
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < 1.0:
            return
        try:
            raw = self._db.engine.raw_connection()
            conn: Any = raw.driver_connection
            raw.detach()  # ours for good: a LISTENing connection must not go back to the pool
            conn.rollback()
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            row = conn.execute("SELECT current_schema()").fetchone()
        except (psycopg.Error, SQLAlchemyError):
            self._failed_at = time.monotonic()
            return
        self._schema = str(row[0]) if row else ""
        self._listener = conn
        self._failed_at = None

    def wait(self, timeout_s: float) -> bool:
        if self._woken.is_set():
            self._woken.clear()
            return True
        if timeout_s <= 0:
            return False
        if self._db.dialect == "postgresql":
            self.arm()
            if self._listener is None:
                time.sleep(min(timeout_s, _RETRY_AFTER_FAILURE_S))
                return True
            return self._wait_notify(timeout_s)
        return self._wait_poll(timeout_s)

    def _wait_notify(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                for note in self._listener.notifies(timeout=left, stop_after=1):
                    if note.payload in ("", self._schema):
                        self._woken.clear()
                        return True
            except psycopg.Error:
                self.close()
                return True
        return False

    def _wait_poll(self, timeout_s: float) -> bool:
        # A new row is the news, as a notification is on PostgreSQL: a pending command this
        # service may not take (another account's, a strategy it does not hold) must not
        # wake it again and again.
        deadline = time.monotonic() + timeout_s
        while True:
            newest = self._read_newest()
            if newest is None:  # let the caller's own read say what is wrong, not too often
                time.sleep(min(timeout_s, _RETRY_AFTER_FAILURE_S))
                return True
            seen, self._newest_id = self._newest_id, newest
            if (seen is not None and newest > seen) or self._woken.is_set():
                self._woken.clear()
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self._poll_interval_s, left))

    def wake(self) -> None:
        """Make a `wait` in another thread return now (the service stopping). On SQLite
        the waiter sees it within one poll interval."""
        self._woken.set()
        if self._db.dialect == "postgresql" and self._schema:
            try:
                with self._db.engine.begin() as conn:
                    conn.execute(
                        text("SELECT pg_notify(:channel, :schema)"),
                        {"channel": CHANNEL, "schema": self._schema},
                    )
            except SQLAlchemyError:
                return  # the waiter's timeout ends it anyway

    def _read_newest(self) -> int | None:
        try:
            with self._db.read_engine.connect() as conn:
                return int(conn.execute(select(func.max(COMMANDS.c.id))).scalar_one() or 0)
        except SQLAlchemyError:
            return None

    def close(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
