"""The first schema: orders and their events, trades, positions, commands, the audit log,
strategy runs and backtest runs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from algo_trading.adapters.storage.sql.types import AvgPrice, Paise, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_APPEND_ONLY = ("order_events", "audit_log")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _s(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def _money(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, Paise(), nullable=nullable)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


_SIDES = "side IN ('BUY', 'SELL')"
_STATUSES = (
    "status IN ('NEW', 'SUBMITTED', 'OPEN', 'TRIGGER_PENDING', 'PARTIALLY_FILLED', "
    "'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')"
)


def upgrade() -> None:
    op.create_table(
        "orders",
        _id(),
        _s("client_order_id", 64),
        _s("broker_order_id", 64, nullable=True),
        _s("tag", 20),
        _s("account", 32),
        _s("strategy", 64),
        _s("symbol", 64),
        _s("exchange", 8),
        _s("product", 16),
        _s("side", 4),
        _s("order_type", 20),
        _s("validity", 8),
        _int("quantity"),
        _money("price", nullable=True),
        _money("trigger_price", nullable=True),
        _s("status", 20),
        _int("filled_quantity"),
        _money("filled_value"),
        sa.Column("average_fill_price", AvgPrice(), nullable=True),
        _money("charges"),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("acknowledged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        sa.CheckConstraint(_SIDES, name="ck_orders_side"),
        sa.CheckConstraint(_STATUSES, name="ck_orders_status"),
        sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        sa.CheckConstraint(
            "filled_quantity >= 0 AND filled_quantity <= quantity", name="ck_orders_filled"
        ),
    )
    op.create_index("ix_orders_account_status", "orders", ["account", "status"])
    op.create_index("ix_orders_broker_order_id", "orders", ["broker_order_id"])
    op.create_index("ix_orders_tag", "orders", ["tag"])

    op.create_table(
        "order_events",
        _id(),
        _s("client_order_id", 64),
        _s("event", 24),
        _s("status", 20),
        _s("broker_order_id", 64, nullable=True),
        _int("filled_quantity"),
        sa.Column("reason", sa.Text(), nullable=False),
        _when("occurred_at"),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name="fk_order_events_client_order_id_orders",
        ),
    )
    op.create_index("ix_order_events_client_order_id", "order_events", ["client_order_id"])

    op.create_table(
        "trades",
        _id(),
        _s("trade_id", 64),
        _s("client_order_id", 64),
        _s("broker_order_id", 64, nullable=True),
        _s("account", 32),
        _s("strategy", 64),
        _s("symbol", 64),
        _s("exchange", 8),
        _s("product", 16),
        _s("side", 4),
        _int("quantity"),
        _money("price"),
        _money("charges"),
        _money("pnl"),
        _when("executed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("account", "trade_id", name="uq_trades_account_trade_id"),
        sa.ForeignKeyConstraint(
            ["client_order_id"], ["orders.client_order_id"], name="fk_trades_client_order_id_orders"
        ),
        sa.CheckConstraint(_SIDES, name="ck_trades_side"),
        sa.CheckConstraint("quantity > 0", name="ck_trades_quantity_positive"),
    )
    op.create_index("ix_trades_client_order_id", "trades", ["client_order_id"])
    op.create_index("ix_trades_symbol_executed_at", "trades", ["symbol", "executed_at"])

    op.create_table(
        "positions",
        _id(),
        _s("account", 32),
        _s("strategy", 64),
        _s("symbol", 64),
        _s("exchange", 8),
        _s("product", 16),
        _int("quantity"),
        sa.Column("avg_price", AvgPrice(), nullable=False),
        _money("cost"),
        _money("realized_pnl"),
        _money("current_price"),
        _money("unrealized_pnl"),
        sa.Column("lots", sa.Text(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_positions"),
        sa.UniqueConstraint(
            "account",
            "strategy",
            "symbol",
            "exchange",
            "product",
            name="uq_positions_account_strategy_symbol_exchange_product",
        ),
    )

    op.create_table(
        "commands",
        _id(),
        _s("command_id", 64),
        _s("kind", 16),
        _s("account", 32),
        _s("strategy", 64, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _s("requested_by", 64),
        _when("requested_at"),
        _s("status", 12),
        _s("claimed_by", 128, nullable=True),
        _when("claimed_at", nullable=True),
        _when("finished_at", nullable=True),
        _s("outcome_code", 64),
        sa.Column("outcome_detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
        sa.UniqueConstraint("command_id", name="uq_commands_command_id"),
    )
    op.create_index("ix_commands_status_id", "commands", ["status", "id"])

    op.create_table(
        "audit_log",
        _id(),
        _when("occurred_at"),
        _s("actor", 64),
        _s("action", 64),
        _s("subject", 128),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])

    op.create_table(
        "strategy_runs",
        _id(),
        _s("run_id", 64),
        _s("strategy", 64),
        _s("mode", 16),
        sa.Column("params", sa.JSON(), nullable=False),
        _s("status", 16),
        _when("started_at"),
        _when("stopped_at", nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_strategy_runs"),
        sa.UniqueConstraint("run_id", name="uq_strategy_runs_run_id"),
    )
    op.create_index("ix_strategy_runs_strategy", "strategy_runs", ["strategy"])

    op.create_table(
        "backtest_runs",
        _id(),
        _s("run_id", 64),
        _s("strategy", 64),
        sa.Column("params", sa.JSON(), nullable=False),
        _s("status", 16),
        _when("started_at"),
        _when("finished_at", nullable=True),
        _int("trade_count"),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("results_uri", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_runs"),
        sa.UniqueConstraint("run_id", name="uq_backtest_runs_run_id"),
    )
    op.create_index("ix_backtest_runs_strategy", "backtest_runs", ["strategy"])

    op.create_table(
        "backtest_trades",
        sa.Column(
            "backtest_run_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        _s("trade_id", 64),
        _s("strategy", 64),
        _s("symbol", 64),
        _s("side", 4),
        _int("quantity"),
        _money("price"),
        _money("charges"),
        _money("pnl"),
        _when("executed_at"),
        sa.PrimaryKeyConstraint("backtest_run_id", "seq", name="pk_backtest_trades"),
        sa.ForeignKeyConstraint(
            ["backtest_run_id"],
            ["backtest_runs.id"],
            name="fk_backtest_trades_backtest_run_id_backtest_runs",
            ondelete="CASCADE",
        ),
    )
    _forbid_changes()


def _forbid_changes() -> None:
    """Order events and the audit log are append-only, whoever connects."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION algo_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION algo_append_only()"
            )
        return
    for table in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    for table in (
        "backtest_trades",
        "backtest_runs",
        "strategy_runs",
        "audit_log",
        "commands",
        "positions",
        "trades",
        "order_events",
        "orders",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION algo_append_only()")
