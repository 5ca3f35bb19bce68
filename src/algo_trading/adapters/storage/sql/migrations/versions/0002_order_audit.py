"""The order audit trail: one append-only row per order decision (market/audit.py).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import Paise, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "order_audit"


def _s(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        _s("stage", 12),
        _s("decision_code", 64),
        _s("strategy", 64),
        _s("order_tag", 20),
        _s("client_order_id", 64),
        _s("symbol", 64),
        _s("side", 4),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", Paise(), nullable=True),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _s("parent_client_order_id", 64, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_order_audit"),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name="ck_order_audit_side"),
        sa.CheckConstraint("quantity >= 0", name="ck_order_audit_quantity_not_negative"),
    )
    op.create_index("ix_order_audit_client_order_id", _TABLE, ["client_order_id"])
    op.create_index("ix_order_audit_strategy_occurred_at", _TABLE, ["strategy", "occurred_at"])
    _forbid_changes()


def _forbid_changes() -> None:
    """Append-only like order_events and audit_log in 0001 (whose trigger function, on
    PostgreSQL, this reuses)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {_TABLE}_append_only BEFORE UPDATE OR DELETE ON {_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION algo_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {_TABLE}_no_{verb.lower()} BEFORE {verb} ON {_TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{_TABLE} is append-only: {verb} refused'); END"
        )


def downgrade() -> None:
    op.drop_table(_TABLE)  # its triggers go with it
