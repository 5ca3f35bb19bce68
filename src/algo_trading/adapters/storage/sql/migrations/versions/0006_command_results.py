"""Commands: what a command made (its result), and a wake-up for the services on PostgreSQL.

`commands.result` holds what a finished command produced (the client order id of a placed
order, the orders a square-off sent), as a JSON object of text values; NULL until finished.
On PostgreSQL an AFTER INSERT trigger sends NOTIFY on channel `algo_commands` with the
schema's name as payload, so a trading service LISTENing there picks a new command up at
once, whoever wrote the row (the dashboard, psql); SQLite has no such thing and the services
poll. Notifications are sent at commit and merged within a transaction, so a bulk insert
wakes a listener once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# The channel is shared by every schema of the database: the payload names the schema, so a
# listener can tell its own commands from another schema's (tests, other environments).
_PG_NOTIFY = """
CREATE FUNCTION algo_commands_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('algo_commands', current_schema());
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("commands", sa.Column("result", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_NOTIFY)
        op.execute(
            "CREATE TRIGGER commands_notify AFTER INSERT ON commands "
            "FOR EACH ROW EXECUTE FUNCTION algo_commands_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER commands_notify ON commands")
        op.execute("DROP FUNCTION algo_commands_notify()")
        op.drop_column("commands", "result")
    else:
        # SQLite (3.35+) drops a column in place; batch mode would rebuild the table
        op.execute("ALTER TABLE commands DROP COLUMN result")
