"""The broker's funds and margin (Angel One getRMS) as the trading service last read them, one
row per account, so the dashboard (another process) can show available cash, margin used and
net without a broker session of its own (issue #12).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import Paise, UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _money(name: str) -> sa.Column[int]:
    return sa.Column(name, Paise(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "account_funds",
        sa.Column("account", sa.String(32), nullable=False),
        _money("net"),
        _money("available_cash"),
        _money("available_intraday_payin"),
        _money("collateral"),
        _money("m2m_realized"),
        _money("m2m_unrealized"),
        _money("utilised_debits"),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_funds")),
    )


def downgrade() -> None:
    op.drop_table("account_funds")
