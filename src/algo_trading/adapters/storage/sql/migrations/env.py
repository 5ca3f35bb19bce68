"""Alembic's entry point, shipped inside the package (as data, not an importable module) so
that `algo-trading db upgrade` works from an installed wheel. The connection comes from
`schema.py`, inside its transaction and, on PostgreSQL, its advisory lock; running `alembic`
by hand against a URL is not supported."""

from __future__ import annotations

from alembic import context

from algo_trading.adapters.storage.sql.models import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `algo-trading db upgrade`, not `alembic`")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
