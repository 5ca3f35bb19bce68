"""Least privilege on PostgreSQL: the services connect as an application role, not as the owner.

Migrations run as the schema owner (`algo-trading db upgrade`). The application role it creates
or checks may read and add rows everywhere, change rows only in the tables that change (orders,
positions, commands, runs, leases), and only INSERT and SELECT on the append-only tables. It owns
nothing and is no member of the owner, so it cannot drop, alter or disable a trigger or a
table, and it has no TRUNCATE, DELETE, TRIGGER or REFERENCES privilege anywhere. The triggers
of migrations 0001, 0002 and 0004 refuse UPDATE, DELETE and TRUNCATE on those tables for every
role, the owner included; the role keeps the application from removing the triggers.

SQLite has no roles: whoever can write the file can do anything, so there the triggers (which
every connection fires) are the guard, file permissions decide who may write, and the
application's own connections are kept from schema changes by an authorizer (`sqlite_guard`).

The password never appears in a statement: it is hashed (SCRAM) on this side by libpq, and
only the hash is sent, so neither a statement log nor `echo=True` can show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.schema import LOCK_KEY
from algo_trading.domain.errors import ConfigError, StorageError

__all__ = ["APPEND_ONLY_TABLES", "AppRole", "ensure_app_role", "role_privileges"]

APPEND_ONLY_TABLES = ("audit_log", "order_audit", "order_events")
_READ_ONLY_TABLES = ("alembic_version",)  # the schema's revision is the owner's to change
_APPEND = "SELECT, INSERT"
_CHANGE = "SELECT, INSERT, UPDATE"  # no DELETE: nothing in the application deletes a row
_FORBIDDEN = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class AppRole:
    name: str
    schema: str
    created: bool

    def describe(self) -> str:
        how = "created" if self.created else "checked"
        return (
            f"application role {self.name} {how}: SELECT and INSERT only on "
            f"{', '.join(APPEND_ONLY_TABLES)} in schema {self.schema}; owns nothing"
        )


def ensure_app_role(db: Database, name: str, password: str | None) -> AppRole | None:
    """Create the role if missing (with `password`), else check it; then set its privileges.

    None on SQLite (no roles there). ConfigError for a role that may do more than it should
    (superuser, CREATEROLE, BYPASSRLS, REPLICATION, a member of the owner, the owner itself);
    StorageError when the owner may not create roles. Safe to run again: the grants are
    revoked and given anew, under the migrations' advisory lock.
    """
    if db.dialect != "postgresql":
        return None
    if not _ROLE_NAME.fullmatch(name):
        raise ConfigError(
            f"application role name {name!r}: use lower-case letters, digits and '_' "
            "(at most 63, not starting with a digit)"
        )
    try:
        with db.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            owner, schema = conn.execute(text("SELECT current_user, current_schema()")).one()
            if name == owner:
                raise ConfigError(
                    f"application role {name} is the role running the migrations (the "
                    "schema owner); the services need a role of their own"
                )
            created = _create_or_check(conn, db, name, owner, password)
            _grant(conn, name, schema)
            _verify(conn, name, schema)
    except (OperationalError, InterfaceError) as exc:
        raise db.unavailable(exc) from None
    except DBAPIError as exc:  # e.g. run as a role that does not own the tables
        raise StorageError(
            f"cannot set up application role {name} on {db.description}: {db.reason(exc)}"
        ) from None
    return AppRole(name, schema, created)


def _create_or_check(
    conn: Connection, db: Database, name: str, owner: str, password: str | None
) -> bool:
    row = conn.execute(
        text(
            "SELECT rolsuper, rolcreaterole, rolbypassrls, rolreplication, rolcanlogin, "
            "pg_has_role(:name, :owner, 'MEMBER') FROM pg_roles WHERE rolname = :name"
        ),
        {"name": name, "owner": owner},
    ).one_or_none()
    if row is None:
        _create(conn, db, name, password)
        return True
    too_much = [
        what
        for what, has in zip(
            ("SUPERUSER", "CREATEROLE", "BYPASSRLS", "REPLICATION"), row[:4], strict=True
        )
        if has
    ]
    if too_much:
        raise ConfigError(
            f"application role {name} has {', '.join(too_much)}: it must have none of them "
            f"(ALTER ROLE {name} NO{' NO'.join(too_much)})"
        )
    if not row[4]:
        raise ConfigError(f"application role {name} cannot log in (ALTER ROLE {name} LOGIN)")
    if row[5]:
        raise ConfigError(
            f"application role {name} is a member of the schema owner {owner}, so it could "
            f"drop or disable the triggers (REVOKE {owner} FROM {name})"
        )
    return False


def _create(conn: Connection, db: Database, name: str, password: str | None) -> None:
    if not password:
        raise ConfigError(
            f"application role {name} does not exist, and no password was given to create it"
        )
    raw: Any = conn.connection.dbapi_connection
    # libpq hashes with the server's password_encryption (scram-sha-256 by default)
    verifier = raw.pgconn.encrypt_password(password.encode(), name.encode()).decode("ascii")
    if "'" in verifier or "\\" in verifier:  # pragma: no cover - a SCRAM or md5 verifier has none
        raise StorageError(f"application role {name}: unexpected password hash from libpq")
    try:
        conn.exec_driver_sql(
            f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT '
            f"NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'"
        )
    except DBAPIError as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            raise
        raise StorageError(
            f"cannot create application role {name} on {db.description}: "
            f"{db.reason(exc)}; create it (LOGIN, no other attribute) as a role with "
            "CREATEROLE, then run `algo-trading db upgrade` again"
        ) from None


def _tables(conn: Connection, schema: str) -> list[str]:
    return list(
        conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": schema},
        ).scalars()
    )


def _grant(conn: Connection, name: str, schema: str) -> None:
    role, where = f'"{name}"', f'"{schema}"'
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {where} TO {role}")
    conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {where} FROM {role}")
    for table in _tables(conn, schema):
        qualified = f'{where}."{table}"'
        conn.exec_driver_sql(f"REVOKE ALL ON {qualified} FROM {role}")
        if table in APPEND_ONLY_TABLES:
            allowed = _APPEND
        elif table in _READ_ONLY_TABLES:
            allowed = "SELECT"
        else:
            allowed = _CHANGE
        conn.exec_driver_sql(f"GRANT {allowed} ON {qualified} TO {role}")
    conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {role}")
    conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {role}")


def role_privileges(conn: Connection, name: str, schema: str, table: str) -> set[str]:
    """Which of UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES, INSERT, SELECT the role holds
    on a table: its own, PUBLIC's, or those of any role it is a member of (and so could SET
    ROLE to, inheriting or not)."""
    privileges = (*_FORBIDDEN, "INSERT", "SELECT")
    held = conn.execute(
        text(
            "SELECT DISTINCT p FROM unnest(CAST(:ps AS text[])) AS p, pg_roles AS r "
            "WHERE pg_has_role(:r, r.oid, 'MEMBER') AND has_table_privilege(r.oid, :t, p)"
        ),
        {"ps": list(privileges), "r": name, "t": f'"{schema}"."{table}"'},
    ).scalars()
    return set(held)


def _verify(conn: Connection, name: str, schema: str) -> None:
    """Whatever we granted, the role must not own (or be able to become the owner of) an
    append-only table, nor hold a forbidden privilege on it through PUBLIC or another role."""
    for table in APPEND_ONLY_TABLES:
        owner = conn.execute(
            text(
                "SELECT pg_get_userbyid(c.relowner), pg_has_role(:r, c.relowner, 'MEMBER') "
                "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relname = :t"
            ),
            {"r": name, "s": schema, "t": table},
        ).one_or_none()
        if owner is None:
            raise StorageError(f"{schema}.{table} does not exist: run the migrations first")
        if owner[1]:
            raise ConfigError(
                f"application role {name} is (a member of) {owner[0]}, the owner of "
                f"{schema}.{table}, so it could drop or disable its triggers "
                f"(REVOKE {owner[0]} FROM {name})"
            )
        extra = role_privileges(conn, name, schema, table) & set(_FORBIDDEN)
        if extra:
            raise ConfigError(
                f"application role {name} has {', '.join(sorted(extra))} on {schema}.{table} "
                "(granted to PUBLIC or to a role it is a member of); revoke it there"
            )
