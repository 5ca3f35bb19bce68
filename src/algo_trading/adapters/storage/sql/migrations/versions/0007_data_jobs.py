"""The data service's scheduled jobs (issue #11): one row per job and exchange day, so a job
runs once per day whatever restarts happen (idempotence), and its outcome is recorded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "data_jobs",
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job", "day", name=op.f("pk_data_jobs")),
        sa.CheckConstraint(
            "status IN ('RUNNING', 'DONE', 'FAILED')", name=op.f("ck_data_jobs_status_known")
        ),
    )


def downgrade() -> None:
    op.drop_table("data_jobs")
