"""Every storage test runs twice: on SQLite and on the local PostgreSQL (a fresh schema per
run, dropped at the end). PostgreSQL tests skip, saying why, only when it is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from algo_trading.adapters.storage.sql import (
    Database,
    SqlTradeLog,
    SqlUnitOfWork,
    ensure_app_role,
    upgrade,
)
from tests.support.storage import fresh_schema, require_postgres

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_base() -> str:
    return require_postgres()  # skips with its reason; fails under CI=true


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


def _drop_role(base_url: str, name: str) -> None:
    """Roles belong to the whole cluster, not to a schema: remove the role and its grants."""
    user = make_url(base_url).username
    conninfo = f"host=127.0.0.1 port=5432 dbname=test user={user} connect_timeout=3"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def role_names(postgres_base: str) -> Iterator[Callable[[str], str]]:
    """Role names unique to this test (roles are cluster-wide and runs may overlap); whatever
    the test created under them is dropped at the end."""
    names: list[str] = []

    def make(kind: str) -> str:
        names.append(f"algo_test_{kind}_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    for name in reversed(names):
        _drop_role(postgres_base, name)


@pytest.fixture
def role_name(role_names: Callable[[str], str]) -> str:
    return role_names("app")


@pytest.fixture(scope="session")
def app_url(migrated_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL the services use: on PostgreSQL, as an application role made for this run (a
    unique name, dropped afterwards, since roles are cluster-wide and runs may overlap); on
    SQLite, which has no roles, the same file."""
    if make_url(migrated_url).get_backend_name() == "sqlite":
        yield migrated_url
        return
    base = request.getfixturevalue("postgres_base")  # not at teardown: pytest forbids it
    name = f"algo_test_app_{uuid.uuid4().hex[:12]}"
    owner = Database(migrated_url)
    try:
        role = ensure_app_role(owner, name, uuid.uuid4().hex)
    finally:
        owner.dispose()
    assert role is not None
    assert role.created
    try:
        yield make_url(migrated_url).set(username=name).render_as_string(hide_password=False)
    finally:
        _drop_role(base, name)


@pytest.fixture(scope="session")
def app_database(app_url: str) -> Iterator[Database]:
    db = Database(app_url)
    yield db
    db.dispose()
