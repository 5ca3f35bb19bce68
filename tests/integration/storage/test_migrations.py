"""Migrations up and down from an empty database, and the refusal of a schema that is not
the code's, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from algo_trading.adapters.storage.sql import (
    Database,
    SqlUnitOfWork,
    downgrade,
    ensure_current,
    head_revision,
    prepare,
    schema_status,
    upgrade,
)
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.domain import ClientOrderId, OrderEvent, OrderStatus
from algo_trading.domain.errors import SchemaVersionError, StorageError


@pytest.fixture
def empty_db(empty_url: str) -> Iterator[Database]:
    db = Database(empty_url)
    yield db
    db.dispose()


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_from_empty_creates_exactly_the_schema_of_the_models(empty_db: Database) -> None:
    assert schema_status(empty_db).current is None
    status = upgrade(empty_db)
    assert (status.current, status.up_to_date) == (head_revision(), True)
    assert _tables(empty_db) == set(metadata.tables) | {"alembic_version"}
    with empty_db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(
    empty_db: Database,
) -> None:
    upgrade(empty_db)
    assert downgrade(empty_db, "base").current is None
    assert _tables(empty_db) <= {"alembic_version"}
    assert upgrade(empty_db).up_to_date
    assert _tables(empty_db) == set(metadata.tables) | {"alembic_version"}


def test_a_schema_older_than_the_code_refuses_to_start_and_says_to_upgrade(
    empty_db: Database,
) -> None:
    with pytest.raises(SchemaVersionError, match=r"run `algo-trading db upgrade`"):
        ensure_current(empty_db)
    with pytest.raises(SchemaVersionError, match=r"run `algo-trading db upgrade`"):
        prepare(empty_db, migrate=False)


def test_a_schema_newer_than_the_code_refuses_to_start_and_says_so(empty_db: Database) -> None:
    upgrade(empty_db)
    with empty_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    status = schema_status(empty_db)
    assert (status.current, status.known) == ("f00d", False)
    with pytest.raises(SchemaVersionError, match="newer than this code"):
        ensure_current(empty_db)


def test_a_service_configured_to_migrate_at_start_brings_an_empty_database_up_to_date(
    empty_db: Database,
) -> None:
    assert prepare(empty_db, migrate=True).up_to_date
    assert prepare(empty_db, migrate=True).current == head_revision()


def test_upgrading_a_database_with_orders_in_it_keeps_every_row_and_reference(
    empty_db: Database,
) -> None:
    """SQLite rebuilds a table to change it (Alembic's batch mode): with order events pointing
    at the orders it copies, the migration must still go through and lose nothing."""
    upgrade(empty_db, "0002")
    coid = ClientOrderId(f"MIG{uuid.uuid4().hex[:10]}")
    _write_order_as_of_0002(empty_db, coid)
    assert upgrade(empty_db).up_to_date
    with SqlUnitOfWork(empty_db, read_only=True) as uow:
        order = uow.orders.get(coid)
        assert order is not None
        assert order.status is OrderStatus.SUBMITTED
        assert uow.orders.events(coid) == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)]
    assert downgrade(empty_db, "0002").current == "0002"
    assert upgrade(empty_db).up_to_date
    with SqlUnitOfWork(empty_db, read_only=True) as uow:
        assert uow.orders.events(coid) == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)]


def _write_order_as_of_0002(db: Database, coid: str) -> None:
    """An order and its first event in the columns revision 0002 has (today's code writes the
    lease columns of 0005 too, so it cannot write to a 0002 schema)."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (client_order_id, tag, account, strategy, symbol, exchange, "
                "product, side, order_type, validity, quantity, status, filled_quantity, "
                "filled_value, charges, created_at, updated_at) VALUES (:c, 'MIG', 'default', "
                "'s', 'SBIN-EQ', 'NSE', 'INTRADAY', 'BUY', 'MARKET', 'DAY', 10, 'SUBMITTED', 0, "
                "0, 0, :t, :t)"
            ),
            {"c": coid, "t": ns_to_datetime(1_700_000_000_000_000_000)},
        )
        conn.execute(
            text(
                "INSERT INTO order_events (client_order_id, event, status, filled_quantity, "
                "reason, occurred_at) VALUES (:c, 'SUBMIT', 'SUBMITTED', 0, '', :t)"
            ),
            {"c": coid, "t": ns_to_datetime(1_700_000_000_000_000_000)},
        )


def test_on_sqlite_a_migration_that_leaves_a_broken_reference_is_rolled_back(
    tmp_path: Path,
) -> None:
    """Foreign keys are off while SQLite migrates (batch mode needs it), so they are checked
    before the commit. PostgreSQL never lets a reference break, so this is SQLite's alone."""
    path = tmp_path / "references.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db, "0002")
        with closing(sqlite3.connect(path, isolation_level=None)) as raw:  # like any tool
            raw.execute(
                "INSERT INTO order_events (client_order_id, event, status, filled_quantity, "
                "reason, occurred_at) VALUES ('GHOST', 'SUBMIT', 'SUBMITTED', 0, '', '2026')"
            )
        with pytest.raises(StorageError, match=r"order_events row \d+ refers to a missing orders"):
            upgrade(db)
        assert schema_status(db).current == "0002"
    finally:
        db.dispose()
