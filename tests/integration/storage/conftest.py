"""Every storage test runs twice: on SQLite and on the local PostgreSQL (a fresh schema per
run, dropped at the end). PostgreSQL tests skip, saying why, only when it is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from tests.support.storage import find_postgres, fresh_schema

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_base() -> str:
    url, why = find_postgres()
    if url is None:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (database test) is unreachable: {why}")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_base")
    return str(request.param)


def _fresh(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_base")) as url:
        yield url


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with nothing in it."""
    yield from _fresh(backend, tmp_path, request)


@pytest.fixture(scope="session")
def migrated_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """One database per backend for the whole run, migrated to head; tests use unique ids."""
    for url in _fresh(backend, tmp_path_factory.mktemp("db"), request):
        db = Database(url)
        try:
            upgrade(db)
        finally:
            db.dispose()
        yield url


@pytest.fixture(scope="session")
def database(migrated_url: str) -> Iterator[Database]:
    db = Database(migrated_url)
    yield db
    db.dispose()


@pytest.fixture
def uow(database: Database) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(database)


@pytest.fixture
def trade_log(database: Database) -> SqlTradeLog:
    return SqlTradeLog(database)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names for ids, symbols and strategies, so tests share a database safely."""
    run = uuid.uuid4().hex[:10]
    return lambda prefix: f"{prefix}{run}"
