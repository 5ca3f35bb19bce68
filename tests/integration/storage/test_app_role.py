"""Least privilege on PostgreSQL (issue 15): the application role that `db upgrade` creates or
checks cannot remove the guards of the append-only tables, cannot change the schema, and is
refused when it could do more than it should. Roles are cluster-wide, so every role here has
a name unique to this run and is dropped afterwards.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import (
    APPEND_ONLY_TABLES,
    Database,
    downgrade,
    ensure_app_role,
    prepare,
    upgrade,
)
from algo_trading.adapters.storage.sql.roles import role_privileges
from algo_trading.cli.main import cli
from algo_trading.domain.errors import ConfigError, StorageError
from tests.support.storage import fresh_schema

PASSWORD = "app-Hunter2-" + "x" * 8  # a password no output or log may show


@pytest.fixture
def owner_url(postgres_base: str) -> Iterator[str]:
    """A schema of its own, migrated to head by the owner (the user the tests connect as)."""
    with fresh_schema(postgres_base) as url:
        db = Database(url)
        try:
            upgrade(db)
        finally:
            db.dispose()
        yield url


@pytest.fixture
def owner(owner_url: str) -> Iterator[Database]:
    db = Database(owner_url)
    yield db
    db.dispose()


def _admin(postgres_base: str) -> psycopg.Connection[tuple[object, ...]]:
    user = make_url(postgres_base).username
    return psycopg.connect(
        f"host=127.0.0.1 port=5432 dbname=test user={user} connect_timeout=3", autocommit=True
    )


def _as(owner_url: str, role: str) -> Database:
    return Database(make_url(owner_url).set(username=role))


@pytest.fixture
def app(owner: Database, owner_url: str, role_name: str) -> Iterator[Database]:
    role = ensure_app_role(owner, role_name, PASSWORD)
    assert role is not None
    assert role.created
    db = _as(owner_url, role_name)
    yield db
    db.dispose()


def app_name(db: Database) -> str:
    return str(db.url.username)


def schema_of(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())


_GUARD_REMOVERS = {
    "DROP TRIGGER": "DROP TRIGGER {t}_append_only ON {t}",
    "DROP TRUNCATE TRIGGER": "DROP TRIGGER {t}_no_truncate ON {t}",
    "DISABLE TRIGGER": "ALTER TABLE {t} DISABLE TRIGGER {t}_append_only",
    "DISABLE TRIGGER ALL": "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "DROP TABLE": "DROP TABLE {t}",
    "DROP TABLE CASCADE": "DROP TABLE {t} CASCADE",
    "RENAME TABLE": "ALTER TABLE {t} RENAME TO {t}_old",
    "replica mode skips triggers": "SET session_replication_role = replica",
    "replace the trigger function": "CREATE OR REPLACE FUNCTION algo_append_only() "
    "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "DROP FUNCTION CASCADE": "DROP FUNCTION algo_append_only() CASCADE",
    "CREATE TABLE in the schema": "CREATE TABLE {t}_shadow (id int)",
    "take ownership": "ALTER TABLE {t} OWNER TO CURRENT_USER",
}


def _triggers(db: Database) -> dict[str, str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE c.relnamespace = CAST(current_schema() AS regnamespace)"
                " AND NOT t.tgisinternal"
            )
        )
        return {name: str(enabled) for name, enabled in rows}


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_application_role_cannot_drop_disable_or_get_round_the_triggers(
    owner: Database, app: Database, table: str
) -> None:
    triggers = _triggers(owner)
    assert {f"{table}_append_only", f"{table}_no_truncate"} <= set(triggers)
    assert set(triggers.values()) == {"O"}  # every trigger enabled
    outcomes = {}
    for name, statement in _GUARD_REMOVERS.items():
        try:
            with app.engine.begin() as conn:
                conn.execute(text(statement.format(t=table)))
            outcomes[name] = "DONE"
        except DBAPIError as exc:
            reason = str(exc.orig)
            refused = ("permission denied", "must be owner", "append-only")
            outcomes[name] = "refused" if any(r in reason for r in refused) else reason
    # a GRANT by a non-owner is only a warning in PostgreSQL: check what it held afterwards
    with app.engine.begin() as conn:
        conn.execute(text(f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO CURRENT_USER"))
        held = role_privileges(conn, app_name(app), schema_of(owner), table)
    assert outcomes == dict.fromkeys(_GUARD_REMOVERS, "refused")
    assert held == {"SELECT", "INSERT"}
    assert _triggers(owner) == triggers


def test_the_application_role_cannot_migrate_and_is_told_who_can(
    owner: Database, app: Database
) -> None:
    assert prepare(app, migrate=True).up_to_date  # nothing to do at head: it may start
    downgrade(owner, "0003")
    with pytest.raises(StorageError, match="migrations run as the schema owner"):
        upgrade(app)
    assert upgrade(owner).up_to_date


def test_running_it_again_checks_the_role_and_restores_its_grants(
    owner: Database, app: Database, role_name: str
) -> None:
    with owner.engine.begin() as conn:
        conn.execute(text(f'GRANT UPDATE, DELETE ON audit_log TO "{role_name}"'))
    role = ensure_app_role(owner, role_name, None)  # no password needed for an existing role
    assert role is not None
    assert not role.created
    with pytest.raises(DBAPIError, match="permission denied"), app.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


@pytest.mark.parametrize(
    ("attribute", "named"),
    [
        ("LOGIN SUPERUSER", "SUPERUSER"),
        ("LOGIN CREATEROLE", "CREATEROLE"),
        ("LOGIN BYPASSRLS", "BYPASSRLS"),
        ("LOGIN REPLICATION", "REPLICATION"),
        ("NOLOGIN", "cannot log in"),
    ],
)
def test_an_existing_role_that_may_do_too_much_is_refused_naming_why(
    owner: Database, postgres_base: str, role_name: str, attribute: str, named: str
) -> None:
    with _admin(postgres_base) as conn:
        conn.execute(f'CREATE ROLE "{role_name}" {attribute}')
    with pytest.raises(ConfigError, match=named):
        ensure_app_role(owner, role_name, PASSWORD)


def test_a_role_that_is_a_member_of_the_tables_owner_is_refused(
    owner: Database, postgres_base: str, role_name: str
) -> None:
    with owner.engine.connect() as conn:
        table_owner = conn.execute(
            text(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log' "
                "AND schemaname = current_schema()"
            )
        ).scalar_one()
    with _admin(postgres_base) as conn:
        conn.execute(f'CREATE ROLE "{role_name}" LOGIN')
        conn.execute(f'GRANT "{table_owner}" TO "{role_name}"')
    with pytest.raises(ConfigError, match=r"member of|could drop or disable"):
        ensure_app_role(owner, role_name, PASSWORD)


def test_an_owner_that_may_not_create_roles_is_told_how_to_go_on(
    postgres_base: str, role_names: Callable[[str], str]
) -> None:
    owner_name, app_name = role_names("owner"), role_names("app")
    schema = f"algo_test_{owner_name[-12:]}"
    with _admin(postgres_base) as conn:
        conn.execute(f'CREATE ROLE "{owner_name}" LOGIN')  # no CREATEROLE, as on many hosts
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner_name}"')
    url = make_url(postgres_base).set(
        username=owner_name, query={"options": f"-csearch_path={schema}"}
    )
    db = Database(url)
    try:
        assert upgrade(db).up_to_date
        with pytest.raises(StorageError, match=r"permission denied to create role.*CREATEROLE"):
            ensure_app_role(db, app_name, PASSWORD)
    finally:
        db.dispose()
        with _admin(postgres_base) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_forbidden_privilege_granted_to_public_is_found(owner: Database, role_name: str) -> None:
    with owner.engine.begin() as conn:
        conn.execute(text("GRANT TRUNCATE ON order_events TO PUBLIC"))
    with pytest.raises(ConfigError, match=r"TRUNCATE on .*order_events"):
        ensure_app_role(owner, role_name, PASSWORD)


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("Robert'); DROP TABLE orders;--", PASSWORD, "lower-case letters"),
        ("1app", PASSWORD, "lower-case letters"),
        ("a" * 64, PASSWORD, "lower-case letters"),
        (None, PASSWORD, "is the role running the migrations"),
        ("algo_test_app_nopassword", "", "no password"),
    ],
)
def test_a_role_name_or_password_that_cannot_be_used_is_one_clear_error(
    owner: Database, name: str | None, password: str, message: str
) -> None:
    if name is None:
        name = str(make_url(owner.url).username)
    with pytest.raises(ConfigError, match=message):
        ensure_app_role(owner, name, password)


def test_the_password_is_sent_only_as_a_scram_hash_and_never_logged(
    owner_url: str, postgres_base: str, role_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    loud = Database(owner_url, echo=True)
    try:
        with caplog.at_level(logging.DEBUG):
            ensure_app_role(loud, role_name, PASSWORD)
    finally:
        loud.dispose()
    assert caplog.records, "echo=True logged nothing: the check proves nothing"
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    with _admin(postgres_base) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role_name,)
        ).fetchone()
    assert stored is not None
    assert str(stored[0]).startswith(("SCRAM-SHA-256$", "md5"))


def _db_cli(url: str, *args: str, **settings: str) -> tuple[int, str, str]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.upper().startswith("ALGO_")}
    env["ALGO_DATABASE_URL"] = url
    env.update({f"ALGO_{k.upper()}": v for k, v in settings.items()})
    result = CliRunner().invoke(cli, ["db", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_creates_the_role_then_checks_it_and_never_prints_the_password(
    postgres_base: str, role_name: str
) -> None:
    with fresh_schema(postgres_base) as url:
        runs = [
            _db_cli(url, "upgrade", database_app_role=role_name, database_app_password=PASSWORD)
            for _ in range(2)
        ]
    (code1, out1, err1), (code2, out2, err2) = runs
    assert (code1, code2, err1, err2) == (0, 0, "", ""), runs
    assert f"application role {role_name} created" in out1
    assert f"application role {role_name} checked" in out2
    assert PASSWORD not in out1 + out2


def test_db_upgrade_refuses_a_role_that_may_do_too_much_in_one_line(
    postgres_base: str, role_name: str
) -> None:
    with _admin(postgres_base) as conn:
        conn.execute(f'CREATE ROLE "{role_name}" LOGIN CREATEROLE')
    with fresh_schema(postgres_base) as url:
        code, _, err = _db_cli(url, "upgrade", database_app_role=role_name)
    assert code == 2
    assert err.splitlines() == [
        f"error: application role {role_name} has CREATEROLE: it must have none of them "
        f"(ALTER ROLE {role_name} NOCREATEROLE)"
    ]


def test_on_sqlite_db_upgrade_says_there_are_no_roles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/roles.db"
    code, out, err = _db_cli(url, "upgrade", database_app_role="algo_app")
    assert (code, err) == (0, ""), out
    assert out.splitlines()[-1].endswith("SQLite has no roles; the append-only triggers guard it")
