"""Strategy leases, and fencing: the database refuses an intent from a stale lease term.

`leases` holds one row per strategy: its owner (an instance id; NULL once released), the
epoch (one more on every acquire, never reused) and when it expires. Every order now records
the owner and epoch it was recorded under, and a BEFORE INSERT trigger on `orders` refuses
the row unless that is the strategy's current owner and epoch and the order is stamped before
the lease expires. A strategy with no lease row is not fenced (one instance, no leases: as
before); once it has one, an order without a lease term is refused too. On PostgreSQL the
trigger reads the lease row FOR SHARE, so a takeover (an UPDATE of that row) waits for an
intent being written, and an intent written after the takeover sees the new epoch. On SQLite
every writer holds the database's write lock (`BEGIN IMMEDIATE`), which serializes them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# The trigger raises SQLSTATE AL409 on PostgreSQL (class "AL": ours) and a message starting
# "stale lease" on SQLite; the adapter (`fence.py`, which keeps its own copy of both) turns
# either into StaleLeaseError.

_PG_FENCE = """
CREATE FUNCTION algo_lease_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_owner text;
    current_epoch bigint;
    current_expiry timestamptz;
BEGIN
    SELECT owner, epoch, expires_at INTO current_owner, current_epoch, current_expiry
        FROM leases WHERE strategy = NEW.strategy FOR SHARE;
    IF NOT FOUND THEN
        IF NEW.lease_epoch IS NULL THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'stale lease: strategy % has no lease', NEW.strategy
            USING ERRCODE = 'AL409';
    END IF;
    IF current_owner IS NULL OR NEW.lease_owner IS DISTINCT FROM current_owner
            OR NEW.lease_epoch IS DISTINCT FROM current_epoch THEN
        RAISE EXCEPTION 'stale lease: strategy % is held by % in epoch %, not by % in epoch %',
            NEW.strategy, coalesce(current_owner, 'nobody'), current_epoch,
            coalesce(NEW.lease_owner, 'nobody'), coalesce(NEW.lease_epoch::text, 'none')
            USING ERRCODE = 'AL409';
    END IF;
    IF NEW.updated_at >= current_expiry THEN
        RAISE EXCEPTION 'stale lease: strategy % lease epoch % expired at %, order at %',
            NEW.strategy, current_epoch, current_expiry, NEW.updated_at
            USING ERRCODE = 'AL409';
    END IF;
    RETURN NEW;
END $$
"""

# SQLite's RAISE takes a literal only; the adapter adds the strategy, owner and epoch.
_SQLITE_FENCE = """
CREATE TRIGGER orders_lease_fence BEFORE INSERT ON orders
WHEN NEW.lease_epoch IS NOT NULL OR EXISTS (SELECT 1 FROM leases WHERE strategy = NEW.strategy)
BEGIN
    SELECT RAISE(ABORT, 'stale lease: the order''s lease owner and epoch are not current')
    WHERE NOT EXISTS (
        SELECT 1 FROM leases
        WHERE strategy = NEW.strategy
          AND owner = NEW.lease_owner
          AND epoch = NEW.lease_epoch
          AND NEW.updated_at < expires_at
    );
END
"""


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        sa.Column("renewed_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("strategy", name=op.f("pk_leases")),
        sa.CheckConstraint("epoch > 0", name=op.f("ck_leases_epoch_positive")),
    )
    # ADD COLUMN on both databases: SQLite needs no table rebuild for a nullable column
    op.add_column("orders", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column("orders", sa.Column("lease_epoch", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FENCE)
        op.execute(
            "CREATE TRIGGER orders_lease_fence BEFORE INSERT ON orders "
            "FOR EACH ROW EXECUTE FUNCTION algo_lease_fence()"
        )
    else:
        op.execute(_SQLITE_FENCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER orders_lease_fence ON orders")
        op.execute("DROP FUNCTION algo_lease_fence()")
        op.drop_column("orders", "lease_epoch")
        op.drop_column("orders", "lease_owner")
    else:
        op.execute("DROP TRIGGER orders_lease_fence")
        # SQLite (3.35+) drops a column in place; batch mode would rebuild orders and lose
        # the CHECK constraints it does not reflect (see 0003)
        op.execute("ALTER TABLE orders DROP COLUMN lease_epoch")
        op.execute("ALTER TABLE orders DROP COLUMN lease_owner")
    op.drop_table("leases")
