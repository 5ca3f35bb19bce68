"""`algo-trading db`: apply, roll back and check the database schema.

The database is the one `ALGO_DATABASE_URL` names (default: SQLite under ./var/). Errors are
one line on stderr and exit code 2; they name the host and database, never a password.
The storage modules are imported when a command runs, so `algo-trading --help` stays quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from algo_trading.domain.errors import AlgoTradingError

if TYPE_CHECKING:
    from pydantic import SecretStr

    from algo_trading.adapters.storage.sql import Database

__all__ = ["db_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlgoTradingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _database() -> Iterator[Database]:
    from algo_trading.adapters.storage.sql import Database
    from algo_trading.services.settings import load_settings

    settings = load_settings()
    db = Database(settings.database_url.get_secret_value(), pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


@click.group("db")
def db_group() -> None:
    """Apply and check the database schema (ALGO_DATABASE_URL)."""


@db_group.command()
@click.option("--revision", default="head", show_default=True, help="Revision to go up to.")
@_one_line_errors
def upgrade(revision: str) -> None:
    """Apply the migrations this version ships, then create or check the application role
    (ALGO_DATABASE_APP_ROLE) the services connect as."""
    from algo_trading.adapters.storage.sql import schema_status
    from algo_trading.adapters.storage.sql import upgrade as do_upgrade
    from algo_trading.services.settings import load_settings

    settings = load_settings()
    with _database() as db:
        db.ping()
        before = schema_status(db).current
        after = do_upgrade(db, revision)
        if before == after.current:
            click.echo(f"{db.description}: already at revision {after.current}")
        else:
            click.echo(
                f"{db.description}: upgraded from {before or 'an empty schema'} "
                f"to revision {after.current}"
            )
        if settings.database_app_role:  # issue 15: least privilege for the services
            _app_role(db, settings.database_app_role, settings.database_app_password)


def _app_role(db: Database, name: str, password: SecretStr) -> None:
    from algo_trading.adapters.storage.sql import ensure_app_role

    role = ensure_app_role(db, name, password.get_secret_value())
    if role is None:
        click.echo(f"{db.description}: SQLite has no roles; the append-only triggers guard it")
    else:
        click.echo(f"{db.description}: {role.describe()}")


@db_group.command()
@click.argument("revision")
@_one_line_errors
def downgrade(revision: str) -> None:
    """Go back to REVISION ("base" removes every table and its data)."""
    from algo_trading.adapters.storage.sql import downgrade as do_downgrade

    with _database() as db:
        db.ping()
        after = do_downgrade(db, revision)
        click.echo(f"{db.description}: now at {after.current or 'an empty schema (base)'}")


@db_group.command()
@_one_line_errors
def check() -> None:
    """Report connectivity and the schema version; exit 2 unless the schema is current."""
    from algo_trading.adapters.storage.sql import ensure_current, schema_status

    with _database() as db:
        db.ping()
        click.echo(f"database: {db.description}")
        click.echo("connection: ok")
        status = schema_status(db)
        click.echo(f"schema: {status.current or 'none'} (this code needs {status.head})")
        ensure_current(db)
        click.echo("status: up to date")
