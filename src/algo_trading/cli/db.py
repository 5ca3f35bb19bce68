"""`algo-trading db`: apply, roll back and check the database schema.

The database is the one `ALGO_DATABASE_URL` names (default: SQLite under ./var/). Errors are
one line on stderr and exit code 2; they name the host and database, never a password.
The storage modules are imported when a command runs, so `algo-trading --help` stays quick.
`downgrade` drops tables with their data, so it asks first at a terminal, takes `--yes` in a
script, and refuses anything else: a pipe or a CI job cannot have meant it by accident.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from algo_trading.cli.errors import fail
from algo_trading.cli.errors import user_errors as _one_line_errors

if TYPE_CHECKING:
    from pydantic import SecretStr

    from algo_trading.adapters.storage.sql import Database

__all__ = ["db_group"]


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
@click.option("--yes", "-y", is_flag=True, help="Drop without asking (scripts); otherwise it asks.")
@_one_line_errors
def downgrade(revision: str, yes: bool) -> None:
    """Go back to REVISION, dropping the tables of later revisions and their data ("base"
    removes every table). Asks first unless --yes."""
    from algo_trading.adapters.storage.sql import downgrade as do_downgrade
    from algo_trading.adapters.storage.sql import schema_status

    with _database() as db:
        db.ping()
        current = schema_status(db).current
        if current is None:
            click.echo(f"{db.description}: no schema; nothing to drop")
            return
        if not yes:
            _confirm_drop(db.description, current, revision)
        after = do_downgrade(db, revision)
        click.echo(f"{db.description}: now at {after.current or 'an empty schema (base)'}")


def _confirm_drop(database: str, current: str, revision: str) -> None:
    what = "every table" if revision == "base" else f"the tables added after revision {revision}"
    if not sys.stdin.isatty():
        fail(
            f"db downgrade {revision} would drop {what} of {database} with their data; "
            "run it at a terminal to confirm, or pass --yes"
        )
    question = (
        f"{database} is at revision {current}. Going back to {revision} drops {what} and all "
        "their data. Continue?"
    )
    if not click.confirm(question, default=False):
        click.echo("nothing changed", err=True)
        sys.exit(1)


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
