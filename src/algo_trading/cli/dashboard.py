"""`algo-trading dashboard [--host H] [--port P] [--demo-data]`: start the Streamlit dashboard
with the project's settings (the same ALGO_DATABASE_URL as the services), and
`algo-trading dashboard add-user NAME --role viewer|trader`: print the line to store for a new
login (the password is read from a hidden prompt or stdin, never echoed or stored)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from algo_trading.cli.errors import fail, user_errors

if TYPE_CHECKING:
    from algo_trading.adapters.storage.sql import Database

__all__ = ["dashboard_group"]

_APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@click.group("dashboard", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--demo-data",
    is_flag=True,
    help="Seed demo rows first when the database has no trades (dev profile only).",
)
@click.pass_context
@user_errors
def dashboard_group(ctx: click.Context, host: str, port: int, demo_data: bool) -> None:
    """Start the dashboard (Portfolio, Orders and trades, Performance, Charts, Backtests,
    System health, and Controls for traders)."""
    if ctx.invoked_subcommand is not None:
        return
    from algo_trading.adapters.storage.sql import Database, prepare
    from algo_trading.services.live_gate import secret_store_for
    from algo_trading.services.settings import load_settings
    from algo_trading.services.users import DEMO_PASSWORD, DEMO_USERS, load_user_store

    settings = load_settings()
    users = load_user_store(settings, secret_store_for(settings, os.environ))
    db = Database(settings.database_url.get_secret_value())
    try:
        prepare(db, migrate=settings.database_migrate_on_start)
        if demo_data:
            _seed_if_empty(db, settings.profile)
    finally:
        db.dispose()
    click.echo(f"dashboard: http://{host}:{port}  ({db.description})")
    if users.source == "demo logins":
        names = ", ".join(f"{n} ({r})" for n, r in DEMO_USERS.items())
        click.echo(f"dashboard: demo logins {names}, password {DEMO_PASSWORD}")
    command = [
        sys.executable, "-m", "streamlit", "run", str(_APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    sys.stdout.flush()
    # Become Streamlit (no parent left behind): a stop signal reaches the server itself.
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter and script


def _seed_if_empty(db: Database, profile: str) -> None:
    from algo_trading.dashboard import queries
    from algo_trading.services.dashboard_demo import seed_demo

    if profile != "dev":
        fail("--demo-data writes demo rows; it is for the dev profile only")
    if queries.trade_count(db) == 0:
        report = seed_demo(db, now_ns=time.time_ns())
        click.echo(f"dashboard: seeded {report.trades} demo trades, {report.positions} positions")


@dashboard_group.command("add-user")
@click.argument("name")
@click.option("--role", required=True, help="viewer (sees) or trader (also acts).")
@user_errors
def add_user(name: str, role: str) -> None:
    """Print NAME:ROLE:ARGON2HASH for ALGO_DASHBOARD_USERS (or its file, or the secret store)."""
    from algo_trading.services.users import user_line

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    click.echo(user_line(name, role, password))
