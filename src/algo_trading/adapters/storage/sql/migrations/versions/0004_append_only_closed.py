"""Close the ways round the append-only triggers of 0001 and 0002.

On SQLite, `REPLACE INTO` / `INSERT OR REPLACE` deletes the row it collides with without
firing a DELETE trigger (unless the connection has `PRAGMA recursive_triggers`), and so
rewrote audit rows; a BEFORE INSERT trigger now refuses any insert whose id is taken, whoever
connects and whatever their pragmas. On PostgreSQL, TRUNCATE fires no row trigger and emptied
the tables; a statement-level BEFORE TRUNCATE trigger now refuses it, for every role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

APPEND_ONLY = ("order_events", "audit_log", "order_audit")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            # algo_append_only() (0001) raises naming the table and TG_OP, here 'TRUNCATE'
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION algo_append_only()"
            )
            continue
        # NEW.id is -1 or NULL when the insert leaves the id to SQLite, so only an insert
        # that names a taken id (REPLACE, upsert, OR IGNORE) is refused.
        op.execute(
            f"CREATE TRIGGER {table}_no_overwrite BEFORE INSERT ON {table} "  # noqa: S608
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: overwriting a row refused'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_no_overwrite")
