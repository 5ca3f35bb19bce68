"""Schema versions: apply the Alembic migrations shipped in this package, and refuse to run
on a schema that is not the one this code was written for.

Migrations run in one transaction; on PostgreSQL they first take an advisory lock, so that
several services starting together migrate once and the others wait, then find nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.sqlite_guard import check_foreign_keys, schema_owner
from algo_trading.domain.errors import ConfigError, SchemaVersionError, StorageError

__all__ = [
    "LOCK_KEY",
    "MIGRATIONS",
    "SchemaStatus",
    "downgrade",
    "ensure_current",
    "head_revision",
    "prepare",
    "schema_status",
    "upgrade",
]

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 0x616C676F_7472  # "algotr": one advisory lock id for every migration

_INSUFFICIENT_PRIVILEGE = "42501"

UPGRADE_HINT = "run `algo-trading db upgrade`"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaVersionError(f"no migrations found in {MIGRATIONS}")
    return head


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    database: str
    current: str | None  # None: no schema at all
    head: str
    known: bool  # False when the database is at a revision this code does not ship

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.up_to_date:
            return f"{self.database}: schema at revision {self.current} (up to date)"
        if self.current is None:
            return f"{self.database}: no schema yet; this code needs revision {self.head}"
        if not self.known:
            return (
                f"{self.database}: schema at revision {self.current}, newer than this code "
                f"(which ships up to {self.head}); upgrade algo-trading"
            )
        return (
            f"{self.database}: schema at revision {self.current}, older than this code "
            f"(which needs {self.head})"
        )


def schema_status(db: Database) -> SchemaStatus:
    """Connect, read the schema's revision, and compare it with this code's."""
    try:
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except (OperationalError, InterfaceError) as exc:
        raise db.unavailable(exc) from None
    scripts = _scripts()
    known = current is None or _has_revision(scripts, current)
    return SchemaStatus(db.description, current, head_revision(), known)


def _has_revision(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def ensure_current(db: Database) -> SchemaStatus:
    """Refuse to start on a schema that is not this code's: SchemaVersionError saying what to
    run."""
    status = schema_status(db)
    if status.up_to_date:
        return status
    if status.known:
        raise SchemaVersionError(f"{status.describe()}: {UPGRADE_HINT}")
    raise SchemaVersionError(status.describe())


def upgrade(db: Database, revision: str = "head") -> SchemaStatus:
    _run(db, "upgrade", revision)
    return schema_status(db)


def downgrade(db: Database, revision: str) -> SchemaStatus:
    """Go back to `revision` ("base" drops every table). Data in dropped tables is lost."""
    _run(db, "downgrade", revision)
    return schema_status(db)


def prepare(db: Database, *, migrate: bool) -> SchemaStatus:
    """What a service does at start: apply migrations when configured to, then insist the
    schema is current."""
    db.ping()
    if migrate:
        upgrade(db)
    return ensure_current(db)


def _run(db: Database, direction: str, revision: str) -> None:
    cfg = _config()
    try:
        with db.engine.connect() as conn, schema_owner(conn), conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            cfg.attributes["connection"] = conn
            if direction == "upgrade":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
            check_foreign_keys(conn)
    except (OperationalError, InterfaceError) as exc:
        raise db.unavailable(exc) from None
    except CommandError as exc:
        raise ConfigError(f"{db.description}: cannot {direction} to {revision!r}: {exc}") from None
    except DBAPIError as exc:
        hint = ""
        if getattr(exc.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
            hint = "; migrations run as the schema owner"  # the application role may not
        raise StorageError(
            f"cannot {direction} {db.description} to {revision!r}: {db.reason(exc)}{hint}"
        ) from None
