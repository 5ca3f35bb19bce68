"""Migrations up and down from an empty database, and the refusal of a schema that is not
the code's, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from algo_trading.adapters.storage.sql import (
    Database,
    downgrade,
    ensure_current,
    head_revision,
    prepare,
    schema_status,
    upgrade,
)
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain.errors import SchemaVersionError


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
