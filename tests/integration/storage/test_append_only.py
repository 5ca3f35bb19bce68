"""Append-only means append-only (issue 15): every way to rewrite or empty order_events,
audit_log and order_audit is refused on SQLite and PostgreSQL, as the application role the
services use and as the schema owner, and the history reads back unchanged afterwards.

On PostgreSQL the application role is refused by its privileges and the owner by the triggers;
on SQLite (no roles) the triggers refuse everyone, whatever the connection's pragmas.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import (
    APPEND_ONLY_TABLES,
    Database,
    SqlOrderAuditLog,
    SqlTradeLog,
    SqlUnitOfWork,
    downgrade,
    upgrade,
)
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain import (
    BrokerOrderId,
    ClientOrderId,
    Fill,
    OrderEvent,
    OrderSide,
    OrderType,
    ProductType,
    StrategyId,
    TradeId,
)
from algo_trading.domain.orders import Order
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus
from algo_trading.market.audit import AuditStage, audit_record

T0 = 1_700_000_000_000_000_000
BEFORE_CLOSING = "0003"  # the revision before migrations/versions/0004_append_only_closed.py
# the text column each attack tries to rewrite
_TEXT = {"order_events": "reason", "audit_log": "detail", "order_audit": "detail"}

History = dict[str, list[tuple[Any, ...]]]


def _history(conn: Connection) -> History:
    return {
        t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))]  # noqa: S608
        for t in APPEND_ONLY_TABLES
    }


def _columns(table: str, rewritten: bool) -> str:
    cols: Table = metadata.tables[table]
    return ", ".join(
        f"'rewritten' AS {c.name}" if rewritten and c.name == _TEXT[table] else c.name
        for c in cols.c
    )


def _attacks(dialect: str, table: str) -> dict[str, str]:
    """Each statement would change or remove the row with id :id (or every row)."""
    names, changed, col = _columns(table, False), _columns(table, True), _TEXT[table]
    one = f"FROM {table} WHERE id = :id"
    attacks = {
        "UPDATE": f"UPDATE {table} SET {col} = 'rewritten' WHERE id = :id",  # noqa: S608
        "DELETE": f"DELETE {one}",
        "DELETE every row": f"DELETE FROM {table}",  # noqa: S608
        "upsert": f"INSERT INTO {table} ({names}) SELECT {changed} {one} "
        f"ON CONFLICT (id) DO UPDATE SET {col} = 'rewritten'",
    }
    if dialect == "sqlite":
        attacks |= {
            "REPLACE INTO": f"REPLACE INTO {table} ({names}) SELECT {changed} {one}",
            "INSERT OR REPLACE": f"INSERT OR REPLACE INTO {table} ({names}) SELECT {changed} {one}",
            "UPDATE OR REPLACE": f"UPDATE OR REPLACE {table} SET {col} = 'x' WHERE id = :id",  # noqa: S608
            # SQLite has no TRUNCATE: an unqualified DELETE is its truncate optimisation
            "TRUNCATE (DELETE without WHERE)": f"DELETE FROM {table}",  # noqa: S608
        }
    else:
        others = ", ".join(t for t in APPEND_ONLY_TABLES if t != table)
        attacks |= {
            "TRUNCATE": f"TRUNCATE {table}",
            "TRUNCATE all three": f"TRUNCATE {table}, {others}",
            "TRUNCATE CASCADE": f"TRUNCATE {table} CASCADE",
            "TRUNCATE orders CASCADE": "TRUNCATE orders CASCADE",
            # PostgreSQL's REPLACE: MERGE that updates or deletes the matching row
            "MERGE (REPLACE)": f"MERGE INTO {table} AS t USING (SELECT {changed} {one}) AS s "
            f"ON t.id = s.id WHEN MATCHED THEN UPDATE SET {col} = s.{col}",
            "MERGE DELETE": f"MERGE INTO {table} AS t USING (SELECT id {one}) AS s "
            "ON t.id = s.id WHEN MATCHED THEN DELETE",
        }
    return attacks


def _write_history(app: Database, coid: ClientOrderId, symbol: str) -> None:
    """Rows in every append-only table, written through the storage ports the engine uses
    (not through the order manager, so this test follows storage, not engine, changes)."""
    log, audit = SqlTradeLog(app), SqlOrderAuditLog(app)
    order = Order(coid, StrategyId("guard"), symbol, OrderSide.BUY, 2, OrderType.LIMIT, 10_050)
    order.tag = f"guard-{coid}"
    for n, stage in enumerate((AuditStage.INTENT, AuditStage.RISK, AuditStage.SUBMIT)):
        audit.record(
            audit_record(
                T0 + n,
                stage,
                "ORDER_REQUESTED",
                strategy_id=order.strategy_id,
                client_order_id=coid,
                symbol=symbol,
                side=order.side,
                quantity=order.quantity,
                price_paise=order.price_paise,
            )
        )
    order.apply(OrderEvent.SUBMIT, T0 + 3)
    log.record_order(order, OrderEvent.SUBMIT)
    order.broker_order_id = BrokerOrderId(f"B{coid}")
    order.apply(OrderEvent.ACCEPT, T0 + 4)
    log.record_order(order, OrderEvent.ACCEPT)
    fill = Fill(
        TradeId(f"T{coid}"),
        coid,
        order.strategy_id,
        symbol,
        OrderSide.BUY,
        2,
        10_050,
        T0 + 5,
        ProductType.INTRADAY,
        0,
    )
    log.record_fill(fill)
    with SqlUnitOfWork(app) as uow:
        uow.audit.append("tester", "KILL_SWITCH", coid, "engaged by a test", T0 + 6)
        uow.commit()


@pytest.fixture(scope="session")
def history(app_database: Database) -> ClientOrderId:
    """A client order id whose rows are in all three tables (written once per run)."""
    coid = ClientOrderId(f"AO{uuid.uuid4().hex[:12]}")
    _write_history(app_database, coid, f"SYM{coid}")
    return coid


@pytest.fixture(params=["application", "owner"])
def attacker(
    request: pytest.FixtureRequest, app_database: Database, database: Database
) -> Iterator[Callable[[], Any]]:
    """A connection as the application role, or as the schema owner. On SQLite both are a
    plain connection to the file; the owner's is a bare sqlite3 one, without our pragmas."""
    if request.param == "application":
        yield app_database.engine.connect
    elif database.dialect == "postgresql":
        yield database.engine.connect
    else:
        path = make_url(database.url).database
        yield lambda: _BareSqlite(str(path))


class _BareSqlite:
    """sqlite3 as any tool would open the file: no recursive_triggers, no foreign keys."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> _BareSqlite:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def execute(self, statement: Any, params: dict[str, Any]) -> None:
        self._conn.execute(str(statement), params)


def _try(attacker: Callable[[], Any], statement: str, row_id: int) -> str:
    try:
        with attacker() as conn:
            conn.execute(text(statement), {"id": row_id})
            getattr(conn, "commit", lambda: None)()
    except (DBAPIError, sqlite3.DatabaseError) as exc:
        reason = str(getattr(exc, "orig", None) or exc)
        if "append-only" in reason or "permission denied" in reason:
            return "refused"
        return f"failed otherwise: {reason}"
    return "DONE"


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_no_statement_rewrites_or_empties_an_append_only_table(
    database: Database, attacker: Callable[[], Any], history: ClientOrderId, table: str
) -> None:
    with database.engine.connect() as conn:
        before = _history(conn)
        row_id = conn.execute(text(f"SELECT min(id) FROM {table}")).scalar_one()  # noqa: S608
    assert before[table], "the history fixture wrote no row here"
    attacks = _attacks(database.dialect, table)

    outcomes = {name: _try(attacker, statement, row_id) for name, statement in attacks.items()}

    assert outcomes == dict.fromkeys(attacks, "refused")
    with database.engine.connect() as conn:
        assert _history(conn) == before


def test_the_application_writes_and_reads_history_with_its_own_privileges(
    app_database: Database, history: ClientOrderId
) -> None:
    with SqlUnitOfWork(app_database, read_only=True) as uow:
        assert [e for e, _ in uow.orders.events(history)] == [
            OrderEvent.SUBMIT,
            OrderEvent.ACCEPT,
            OrderEvent.FILL,
        ]
    stages = [r.stage.value for r in SqlOrderAuditLog(app_database).for_order(history)]
    assert stages[:3] == ["INTENT", "RISK", "SUBMIT"]


def _guards(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = (
            "SELECT t.tgname FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND NOT t.tgisinternal"
        )
    with db.engine.connect() as conn:
        return set(conn.execute(text(query)).scalars())


def test_every_append_only_table_has_all_its_guards_and_0004_comes_and_goes_cleanly(
    empty_url: str,
) -> None:
    db = Database(empty_url)
    try:
        upgrade(db)
        if db.dialect == "sqlite":
            older = {f"{t}_no_{verb}" for t in APPEND_ONLY_TABLES for verb in ("update", "delete")}
            added = {f"{t}_no_overwrite" for t in APPEND_ONLY_TABLES}
        else:
            older = {f"{t}_append_only" for t in APPEND_ONLY_TABLES}
            added = {f"{t}_no_truncate" for t in APPEND_ONLY_TABLES}
        fence = {"orders_lease_fence"}  # not an append-only guard: 0005, after 0004
        if db.dialect == "postgresql":
            fence.add("commands_notify")  # neither: 0006's wake-up for the trading service
        # a later batch migration on SQLite rebuilds a table and drops its triggers: caught here
        assert _guards(db) == older | added | fence
        assert downgrade(db, BEFORE_CLOSING).current == BEFORE_CLOSING
        assert _guards(db) == older
        assert upgrade(db).up_to_date
        assert _guards(db) == older | added | fence
    finally:
        db.dispose()


def test_the_application_role_may_do_everything_the_services_do(app_database: Database) -> None:
    """Commands (the dashboard's and the trading service's side), strategy runs and a backtest
    written in bulk (COPY on PostgreSQL), under the application role's grants."""
    run = uuid.uuid4().hex[:10]
    fill = Fill(
        TradeId(f"T{run}"),
        ClientOrderId(f"O{run}"),
        StrategyId("s"),
        "SBIN-EQ",
        OrderSide.BUY,
        1,
        10_000,
        T0,
        ProductType.INTRADAY,
        0,
    )
    with SqlUnitOfWork(app_database) as uow:
        uow.commands.add(CommandRecord(f"c{run}", CommandKind.SQUARE_OFF, "asha", T0, {}))
        uow.runs.start_strategy_run(f"s{run}", "ema", "paper", {}, T0)
        uow.runs.start_backtest(f"b{run}", "sma", {}, T0)
        assert uow.runs.add_backtest_trades(f"b{run}", [(fill, 0)]) == 1
        uow.commit()
    with SqlUnitOfWork(app_database) as uow:
        while (claimed := uow.commands.claim_next("worker", T0 + 1)) is not None:
            if claimed.command_id == f"c{run}":  # older pending ones may be other tests'
                break
        uow.commands.finish(f"c{run}", CommandStatus.DONE, code="OK", detail="", ts_ns=T0 + 2)
        uow.runs.stop_strategy_run(f"s{run}", "STOPPED", "test", T0 + 3)
        uow.runs.finish_backtest(f"b{run}", "DONE", {}, None, T0 + 4)
        uow.commit()
    with SqlUnitOfWork(app_database, read_only=True) as uow:
        done = uow.commands.get(f"c{run}")
    assert done is not None
    assert done.status is CommandStatus.DONE


def _guard_removers(dialect: str, table: str, path: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {
            "DROP TRIGGER": f"DROP TRIGGER {table}_no_delete",
            "DROP the 0004 TRIGGER": f"DROP TRIGGER {table}_no_overwrite",
            "DROP TABLE": f"DROP TABLE {table}",
            "ALTER TABLE RENAME": f"ALTER TABLE {table} RENAME TO {table}_old",
            "ALTER TABLE ADD COLUMN": f"ALTER TABLE {table} ADD COLUMN x TEXT",
            "CREATE TRIGGER": f"CREATE TRIGGER undo AFTER INSERT ON {table} BEGIN SELECT 1; END",
            "CREATE TEMP TRIGGER": f"CREATE TEMP TRIGGER undo AFTER INSERT ON main.{table} "
            "BEGIN SELECT 1; END",
            "writable_schema": "PRAGMA writable_schema = ON",
            "recursive_triggers off": "PRAGMA recursive_triggers = OFF",
            "ATTACH the same file": f"ATTACH DATABASE '{path}' AS again",
        }
    return {
        "DROP TRIGGER": f"DROP TRIGGER {table}_append_only ON {table}",
        "DISABLE TRIGGER": f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        "DROP TABLE": f"DROP TABLE {table}",
        "replica mode": "SET session_replication_role = replica",
    }


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_applications_connections_cannot_drop_alter_or_switch_off_a_guard(
    database: Database, app_database: Database, table: str
) -> None:
    path = str(make_url(database.url).database)
    statements = _guard_removers(database.dialect, table, path)
    outcomes = {}
    for name, statement in statements.items():
        try:
            with app_database.engine.begin() as conn:
                conn.execute(text(statement))
            outcomes[name] = "DONE"
        except DBAPIError as exc:
            reason = str(exc.orig)
            refusals = ("not authorized", "permission denied", "must be owner")
            outcomes[name] = "refused" if any(r in reason for r in refusals) else reason
    assert outcomes == dict.fromkeys(statements, "refused")
    with database.engine.connect() as conn:
        before = _history(conn)
    # and the triggers are still there and still fire
    assert _try(app_database.engine.connect, _attacks(database.dialect, table)["DELETE"], 1) == (
        "refused"
    )
    with database.engine.connect() as conn:
        assert _history(conn) == before
