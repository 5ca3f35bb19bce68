"""The tables, as SQLAlchemy 2 declarative models. The migrations in `migrations/versions/`
create exactly this schema (a test compares them).

Money columns hold rupees as NUMERIC on PostgreSQL (see `types.py`); Python sees int paise.
Every time is TIMESTAMP WITH TIME ZONE. Order events, the audit log and the order audit trail are
append-only: triggers in the migrations refuse UPDATE, DELETE, TRUNCATE (PostgreSQL) and an
INSERT over a taken id (SQLite's REPLACE), and the application role may only INSERT and SELECT.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from algo_trading.adapters.storage.sql.types import AvgPrice, Paise, UtcDateTime

__all__ = [
    "AccountFundsRow",
    "AuditEntry",
    "BacktestRun",
    "BacktestTrade",
    "Base",
    "CommandRow",
    "DataJobRow",
    "LeaseRow",
    "OrderAuditRow",
    "OrderEventRow",
    "OrderRow",
    "PositionRow",
    "RiskStateRow",
    "StrategyRun",
    "TradeRow",
    "metadata",
]

# Named constraints, so that migrations can refer to them on every database.
_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

SIDES = "side IN ('BUY', 'SELL')"
ORDER_STATUSES = (
    "status IN ('NEW', 'SUBMITTED', 'OPEN', 'TRIGGER_PENDING', 'PARTIALLY_FILLED', "
    "'PENDING_CANCEL', 'PENDING_MODIFY', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')"
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UtcDateTime(),
        int: BigInteger(),
        Decimal: AvgPrice(),
        dict[str, Any]: JSON(),
    }


metadata = Base.metadata


class OrderRow(Base):
    """An order from the moment it is decided (committed before the broker hears of it)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(SIDES, name="side"),
        CheckConstraint(ORDER_STATUSES, name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="filled"),
        Index(None, "account", "status"),
        Index(None, "broker_order_id"),
        Index(None, "tag"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(20))  # what the broker was told (market.audit)
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    exchange: Mapped[str] = mapped_column(String(8))
    product: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(20))
    validity: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int]
    price: Mapped[int | None] = mapped_column(Paise())
    trigger_price: Mapped[int | None] = mapped_column(Paise())
    status: Mapped[str] = mapped_column(String(20))
    filled_quantity: Mapped[int] = mapped_column(default=0)
    filled_value: Mapped[int] = mapped_column(Paise(), default=0)  # Σ price × qty, exact
    average_fill_price: Mapped[Decimal | None]
    charges: Mapped[int] = mapped_column(Paise(), default=0)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    # the lease term of the instance that recorded the intent (migration 0005: fencing)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_epoch: Mapped[int | None]


class OrderEventRow(Base):
    """Every state change of an order, in the order it happened. Append-only."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("orders.client_order_id"), index=True
    )
    event: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(20))  # the status the event led to
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    filled_quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime]


class TradeRow(Base):
    """An execution of one of our orders (paper or live), with the P&L it realized."""

    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("account", "trade_id"),
        CheckConstraint(SIDES, name="side"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index(None, "symbol", "executed_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(64))
    client_order_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("orders.client_order_id"), index=True
    )
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    exchange: Mapped[str] = mapped_column(String(8))
    product: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int]
    price: Mapped[int] = mapped_column(Paise())
    charges: Mapped[int] = mapped_column(Paise(), default=0)
    pnl: Mapped[int] = mapped_column(Paise(), default=0)  # realized by this execution
    executed_at: Mapped[dt.datetime]


class PositionRow(Base):
    """A net position per account, strategy, symbol, exchange and product. `lots` holds the
    open FIFO lots ([signed quantity, price paise], …) so realized P&L stays exact."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("account", "strategy", "symbol", "exchange", "product"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    exchange: Mapped[str] = mapped_column(String(8))
    product: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(default=0)
    avg_price: Mapped[Decimal] = mapped_column(AvgPrice(), default=Decimal(0))
    cost: Mapped[int] = mapped_column(Paise(), default=0)  # Σ open lots price × signed qty
    realized_pnl: Mapped[int] = mapped_column(Paise(), default=0)
    current_price: Mapped[int] = mapped_column(Paise(), default=0)
    unrealized_pnl: Mapped[int] = mapped_column(Paise(), default=0)
    lots: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[dt.datetime]


class CommandRow(Base):
    """A request from the dashboard or an operator, who asked, and what became of it."""

    __tablename__ = "commands"
    __table_args__ = (Index(None, "status", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(12))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    outcome_code: Mapped[str] = mapped_column(String(64), default="")
    outcome_detail: Mapped[str] = mapped_column(Text, default="")
    # --- migration 0006 (commands): what a finished command made; NULL until then ---------
    result: Mapped[dict[str, Any] | None]


class AuditEntry(Base):
    """Who did what to what, when. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, default="")


class OrderAuditRow(Base):
    """One order decision (`market.audit.OrderAuditRecord`): stage, stable code and the
    integer numbers behind it, as a JSON object. Append-only (migration 0002)."""

    __tablename__ = "order_audit"
    __table_args__ = (
        CheckConstraint(SIDES, name="side"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index(None, "strategy", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[dt.datetime]
    stage: Mapped[str] = mapped_column(String(12))
    decision_code: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(64))
    order_tag: Mapped[str] = mapped_column(String(20))
    client_order_id: Mapped[str] = mapped_column(String(64), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int]
    price: Mapped[int | None] = mapped_column(Paise())
    numbers: Mapped[dict[str, Any]]
    detail: Mapped[str] = mapped_column(Text, default="")
    parent_client_order_id: Mapped[str | None] = mapped_column(String(64))


class StrategyRun(Base):
    """One run of a strategy in paper or live trading, from start to stop."""

    __tablename__ = "strategy_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    strategy: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    stopped_at: Mapped[dt.datetime | None]
    stop_reason: Mapped[str] = mapped_column(Text, default="")


class BacktestRun(Base):
    """A backtest's metadata; its large results live in the object store at `results_uri`."""

    __tablename__ = "backtest_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    strategy: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    trade_count: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]]
    results_uri: Mapped[str | None] = mapped_column(Text)


class BacktestTrade(Base):
    """One execution of a backtest, written in bulk at the end of the run."""

    __tablename__ = "backtest_trades"

    backtest_run_id: Mapped[int] = mapped_column(
        Id, ForeignKey("backtest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int]
    price: Mapped[int] = mapped_column(Paise())
    charges: Mapped[int] = mapped_column(Paise())
    pnl: Mapped[int] = mapped_column(Paise())
    executed_at: Mapped[dt.datetime]


class LeaseRow(Base):
    """Which instance runs a strategy, until when, in which term (`epoch`, one more on every
    acquire). A trigger on `orders` (migration 0005) refuses an intent whose owner and epoch
    are not this row's, or that is stamped at or after `expires_at`."""

    __tablename__ = "leases"
    __table_args__ = (CheckConstraint("epoch > 0", name="epoch_positive"),)

    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))  # None: released
    epoch: Mapped[int]
    acquired_at: Mapped[dt.datetime]
    renewed_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


# --- the data service (issue #11, migration 0007) --------------------------------------------


class DataJobRow(Base):
    """One scheduled job of the data service on one exchange day (IST): the key makes a job
    run once a day however often the service restarts; FAILED rows are tried again."""

    __tablename__ = "data_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('RUNNING', 'DONE', 'FAILED')", name="status_known"),
    )

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    detail: Mapped[str] = mapped_column(Text)


class AccountFundsRow(Base):
    """The broker's funds and margin (getRMS) the trading service last read, per account: what
    the dashboard shows as available cash, margin used (utilised debits) and net."""

    __tablename__ = "account_funds"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    net: Mapped[int] = mapped_column(Paise())
    available_cash: Mapped[int] = mapped_column(Paise())
    available_intraday_payin: Mapped[int] = mapped_column(Paise())
    collateral: Mapped[int] = mapped_column(Paise())
    m2m_realized: Mapped[int] = mapped_column(Paise())
    m2m_unrealized: Mapped[int] = mapped_column(Paise())
    utilised_debits: Mapped[int] = mapped_column(Paise())
    recorded_at: Mapped[dt.datetime]


# --- the risk manager's state across restarts (issue #10 item 5, migration 0008) -------------


class RiskStateRow(Base):
    """One risk scope of an account (`strategy` "" is the account): what a restart within
    the day must find again and the trades table cannot give. `day` is the IST day (days
    since 1970-01-01) of `base`, the P&L figure the day's loss is measured from; `peak` is the
    highest figure seen (the drawdown's); `halts` the scope's halts as JSON
    ([{code, detail, since_ns, by}, …]); the kill switch is on the account's row while it holds."""

    __tablename__ = "risk_state"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[int] = mapped_column(Integer)
    base: Mapped[int | None] = mapped_column(Paise())
    peak: Mapped[int | None] = mapped_column(Paise())
    halts: Mapped[str] = mapped_column(Text, default="[]")
    kill_reason: Mapped[str | None] = mapped_column(Text)
    kill_by: Mapped[str | None] = mapped_column(String(64))
    kill_since: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]
