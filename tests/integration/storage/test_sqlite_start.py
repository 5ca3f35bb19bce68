"""A process that opens a fresh SQLite file while another holds its write lock waits for the
lock, as it does for every other statement, instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from algo_trading.adapters.storage.sql import Database


def test_opening_a_fresh_file_waits_for_another_writer_to_switch_it_to_wal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fresh.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x INTEGER)")  # still in rollback-journal mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    # SQLite refuses the switch to WAL at once while this lock is held; let it go shortly.
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    db = Database(f"sqlite:///{path}")
    try:
        db.ping()
        with db.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
    finally:
        release.join()
        db.dispose()
        other.close()
