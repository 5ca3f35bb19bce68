"""SQLAlchemy 2 storage for PostgreSQL and SQLite: models, Alembic migrations, repositories,
the unit of work and the engine's TradeLog. Nothing connects until it is used."""

from algo_trading.adapters.storage.sql.database import Database, describe_url, parse_database_url
from algo_trading.adapters.storage.sql.lease_audit import (
    LeaseTerm,
    intents_outside_their_term,
    lease_terms,
)
from algo_trading.adapters.storage.sql.leases import SqlLeases
from algo_trading.adapters.storage.sql.order_audit import SqlOrderAuditLog
from algo_trading.adapters.storage.sql.roles import APPEND_ONLY_TABLES, AppRole, ensure_app_role
from algo_trading.adapters.storage.sql.schema import (
    SchemaStatus,
    downgrade,
    ensure_current,
    head_revision,
    prepare,
    schema_status,
    upgrade,
)
from algo_trading.adapters.storage.sql.trade_log import SqlTradeLog
from algo_trading.adapters.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = [
    "APPEND_ONLY_TABLES",
    "AppRole",
    "Database",
    "LeaseTerm",
    "SchemaStatus",
    "SqlLeases",
    "SqlOrderAuditLog",
    "SqlTradeLog",
    "SqlUnitOfWork",
    "describe_url",
    "downgrade",
    "ensure_app_role",
    "ensure_current",
    "head_revision",
    "intents_outside_their_term",
    "lease_terms",
    "parse_database_url",
    "prepare",
    "schema_status",
    "upgrade",
]
