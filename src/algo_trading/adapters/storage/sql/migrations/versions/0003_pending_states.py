"""Orders may be PENDING_CANCEL or PENDING_MODIFY: between our request and the broker's
answer (domain/orders.py, issue #9).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = (
    "status IN ('NEW', 'SUBMITTED', 'OPEN', 'TRIGGER_PENDING', 'PARTIALLY_FILLED', "
    "'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')"
)
_NEW = (
    "status IN ('NEW', 'SUBMITTED', 'OPEN', 'TRIGGER_PENDING', 'PARTIALLY_FILLED', "
    "'PENDING_CANCEL', 'PENDING_MODIFY', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')"
)


def _replace(condition: str) -> None:
    # 0001 named it "ck_orders_status" and the naming convention prefixed it once more.
    name = op.f("ck_orders_ck_orders_status")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(name, "orders", type_="check")
        op.create_check_constraint(name, "orders", condition)
        return
    # SQLite cannot alter a constraint: batch mode copies the table, and since it does not
    # reflect CHECK constraints, the copy has only those named here.
    with op.batch_alter_table("orders", recreate="always") as batch:
        batch.create_check_constraint(name, condition)
        batch.create_check_constraint(op.f("ck_orders_ck_orders_side"), "side IN ('BUY', 'SELL')")
        batch.create_check_constraint(op.f("ck_orders_ck_orders_quantity_positive"), "quantity > 0")
        batch.create_check_constraint(
            op.f("ck_orders_ck_orders_filled"),
            "filled_quantity >= 0 AND filled_quantity <= quantity",
        )


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    op.execute(
        "UPDATE orders SET status = 'OPEN' WHERE status IN ('PENDING_CANCEL', 'PENDING_MODIFY')"
    )
    _replace(_OLD)
