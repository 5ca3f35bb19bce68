"""The risk manager's state across restarts (issue #10 item 5): per account and scope (a
strategy, or "" for the account) the IST day's baseline the daily loss is measured from, the
drawdown's peak, the halts in force, and the kill switch while it holds. What the trades
table can give (the day's realized P&L and charges) is derived from it, not stored here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import Paise, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "risk_state",
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("base", Paise(), nullable=True),
        sa.Column("peak", Paise(), nullable=True),
        sa.Column("halts", sa.Text(), nullable=False),
        sa.Column("kill_reason", sa.Text(), nullable=True),
        sa.Column("kill_by", sa.String(64), nullable=True),
        sa.Column("kill_since", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "strategy", name=op.f("pk_risk_state")),
    )


def downgrade() -> None:
    op.drop_table("risk_state")
