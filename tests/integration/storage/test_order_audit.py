"""The order audit trail on SQLite and PostgreSQL: every decision read back as it was written,
money as NUMERIC rupees on PostgreSQL, rows that cannot be changed, a migration that comes
and goes cleanly, and the order manager's trail durable before the broker hears of an order."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import DateTime, Numeric, inspect, text
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import (
    Database,
    SqlOrderAuditLog,
    SqlTradeLog,
    downgrade,
    upgrade,
)
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain import ClientOrderId, OrderSide, OrderSnapshot, StrategyId
from algo_trading.domain.errors import DatabaseUnavailableError
from algo_trading.engine import AllowAll, InlineSender, NoCharges, OrderManager, SimulatedClock
from algo_trading.market.audit import AuditStage, OrderAuditRecord, audit_record
from tests.support.fakes import RefusingRisk
from tests.support.storage import ListIds, submit

T0 = 1_700_000_000_000_000_000


def _record(
    coid: str,
    stage: AuditStage = AuditStage.RISK,
    code: str = "DAILY_LOSS_LIMIT",
    *,
    ts_ns: int = T0,
    price_paise: int | None = 123_455,
    numbers: dict[str, int] | None = None,
    detail: str = "",
    parent: str | None = None,
) -> OrderAuditRecord:
    return audit_record(
        ts_ns,
        stage,
        code,
        strategy_id=StrategyId("audit-test"),
        client_order_id=ClientOrderId(coid),
        symbol="NIFTY25MARFUT",
        side=OrderSide.SELL,
        quantity=1_800,
        price_paise=price_paise,
        numbers=numbers,
        detail=detail,
        parent_client_order_id=None if parent is None else ClientOrderId(parent),
    )


@pytest.fixture
def audit(database: Database) -> SqlOrderAuditLog:
    return SqlOrderAuditLog(database)


def test_an_orders_decisions_are_read_back_field_for_field_oldest_first(
    audit: SqlOrderAuditLog, unique: Callable[[str], str]
) -> None:
    coid, other, parent = unique("OA"), unique("OB"), unique("OP")
    written = [
        _record(coid, AuditStage.INTENT, "ORDER_REQUESTED", price_paise=None),
        _record(
            coid,
            numbers={"loss": 612_000, "limit": 500_000, "equity": 9_000_000_000_000_000},
            detail="loss=612000, limit=500000",
            ts_ns=T0 + 1_000,
        ),
        _record(coid, AuditStage.SLICE, "SLICED", ts_ns=T0 + 2_000, parent=parent),
    ]
    audit.record(written[0])
    audit.record(_record(other, ts_ns=T0 + 500))  # another order's decision in between
    for record in written[1:]:
        audit.record(record)

    assert audit.for_order(ClientOrderId(coid)) == written
    assert audit.for_order(ClientOrderId(coid))[1].summary() == (
        "RISK DAILY_LOSS_LIMIT: equity=9000000000000000, limit=500000, loss=612000"
    )
    assert [r.client_order_id for r in audit.for_order(ClientOrderId(other))] == [other]


def test_a_decisions_time_is_kept_to_the_microsecond(
    audit: SqlOrderAuditLog, unique: Callable[[str], str]
) -> None:
    coid = unique("OT")
    audit.record(_record(coid, ts_ns=T0 + 1_234_567))
    (stored,) = audit.for_order(ClientOrderId(coid))
    assert stored.ts_ns == T0 + 1_234_000


def test_the_price_is_numeric_rupees_on_postgresql_and_integer_paise_on_sqlite(
    audit: SqlOrderAuditLog, database: Database, unique: Callable[[str], str]
) -> None:
    coid = unique("ON")
    audit.record(_record(coid, price_paise=123_455))
    with database.engine.connect() as conn:
        price = conn.execute(
            text("SELECT price FROM order_audit WHERE client_order_id = :c"), {"c": coid}
        ).scalar_one()
        columns = {c["name"]: c["type"] for c in inspect(conn).get_columns("order_audit")}
    if database.dialect == "postgresql":
        assert price == Decimal("1234.55")
        price_type, time_type = columns["price"], columns["occurred_at"]
        assert isinstance(price_type, Numeric)
        assert (price_type.precision, price_type.scale) == (18, 2)
        assert isinstance(time_type, DateTime)
        assert time_type.timezone is True
    else:
        assert price == 123_455


def test_the_order_audit_refuses_updates_and_deletes(
    audit: SqlOrderAuditLog, database: Database, unique: Callable[[str], str]
) -> None:
    coid = unique("OX")
    audit.record(_record(coid))
    for sql in (
        "UPDATE order_audit SET decision_code = 'ALLOWED' WHERE client_order_id = :c",
        "DELETE FROM order_audit WHERE client_order_id = :c",
    ):
        with database.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql), {"c": coid})
    assert audit.for_order(ClientOrderId(coid)) == [_record(coid)]


@pytest.fixture
def empty_db(empty_url: str) -> Iterator[Database]:
    db = Database(empty_url)
    yield db
    db.dispose()


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_downgrading_to_0001_drops_only_the_order_audit_and_upgrading_restores_it(
    empty_db: Database,
) -> None:
    upgrade(empty_db)
    SqlOrderAuditLog(empty_db).record(_record("DOWN1"))

    assert downgrade(empty_db, "0001").current == "0001"
    after_0001 = {"order_audit", "leases", "data_jobs", "risk_state", "account_funds"}  # 0002…0009
    assert _tables(empty_db) == set(metadata.tables) - after_0001 | {"alembic_version"}
    with empty_db.engine.begin() as conn:  # 0001's own append-only guard is untouched
        conn.execute(
            text(
                "INSERT INTO audit_log (occurred_at, actor, action, subject, detail) "
                "VALUES (:t, 'tester', 'noop', 'DOWN1', '')"
            ),
            {"t": "2025-01-01 00:00:00+00:00"},
        )
    with empty_db.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_log"))

    assert upgrade(empty_db).up_to_date
    with empty_db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert SqlOrderAuditLog(empty_db).for_order(ClientOrderId("DOWN1")) == []
    SqlOrderAuditLog(empty_db).record(_record("DOWN2"))
    with empty_db.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM order_audit"))


class _BrokerReadingTheTrail:
    """A broker that, when an order reaches it, reads what the audit trail holds by then."""

    def __init__(self, audit: SqlOrderAuditLog) -> None:
        self._audit = audit
        self.seen: dict[str, list[str]] = {}

    def connect(self, sink: object) -> None:
        pass

    def submit(self, order: OrderSnapshot) -> None:
        trail = self._audit.for_order(order.client_order_id)
        self.seen[order.client_order_id] = [f"{r.stage.value} {r.decision_code}" for r in trail]

    def cancel(self, client_order_id: ClientOrderId) -> None:
        pass


def test_the_order_managers_decisions_are_stored_before_the_broker_hears_of_the_order(
    database: Database, audit: SqlOrderAuditLog, unique: Callable[[str], str]
) -> None:
    sent, refused = unique("OM"), unique("OR")
    broker = _BrokerReadingTheTrail(audit)
    log = SqlTradeLog(database)
    clock = SimulatedClock(T0)
    sender = InlineSender(broker)
    manager = OrderManager(sender, clock, ListIds(sent), AllowAll(), log, NoCharges(), audit=audit)
    submit(manager, unique("SYM"), price_paise=10_050)
    strict = OrderManager(
        sender, clock, ListIds(refused), RefusingRisk(), log, NoCharges(), audit=audit
    )
    submit(strict, unique("SYM"))

    assert broker.seen == {sent: ["INTENT ORDER_REQUESTED", "RISK OK", "SUBMIT SENT"]}
    trail = audit.for_order(ClientOrderId(refused))
    assert [(r.stage, r.decision_code, r.detail) for r in trail] == [
        (AuditStage.INTENT, "ORDER_REQUESTED", ""),
        (AuditStage.RISK, "MAX_ORDER_QTY", "qty=10, limit=5"),
    ]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_a_typed_error_naming_it() -> None:
    db = Database(f"postgresql://trader@127.0.0.1:{_closed_port()}/books")
    try:
        with pytest.raises(DatabaseUnavailableError, match=r'database "books" on 127\.0\.0\.1'):
            SqlOrderAuditLog(db).record(_record("NOWHERE"))
    finally:
        db.dispose()
