"""The dashboard under Streamlit's AppTest, on SQLite and on the local PostgreSQL (a fresh
schema per module), over the demo rows. The demo logins (dev profile) are the users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

import algo_trading.dashboard
from algo_trading.adapters.storage.sql import Database, upgrade
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.services.dashboard_demo import seed_demo
from algo_trading.services.users import DEMO_PASSWORD
from tests.support.storage import find_postgres, fresh_schema

APP = Path(algo_trading.dashboard.__file__).parent / "app.py"
NOW_NS = 1_785_000_000_000_000_000  # 2026-07-25, a fixed end for the demo rows


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's data folder: its history store holds the demo candles (Charts)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[str]:
    history = data_dir / "market-data" / "historical"
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('dash') / 'demo.db'}"])
        yield from _seeded(urls, history)
        return
    base, why = find_postgres()
    if base is None:
        message = f"PostgreSQL at 127.0.0.1:5432 (database test) is unreachable: {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with fresh_schema(base) as url:
        yield from _seeded(iter([url]), history)


def _seeded(urls: Iterator[str], history: Path) -> Iterator[str]:
    url = next(urls)
    db = Database(url)
    try:
        upgrade(db)
        seed_demo(db, now_ns=NOW_NS, history=history)
    finally:
        db.dispose()
    yield url


@pytest.fixture
def database(demo_url: str) -> Iterator[Database]:
    db = Database(demo_url)
    yield db
    db.dispose()


@pytest.fixture
def app_env(
    demo_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AppTest]:
    """A fresh AppTest (one browser session) on the demo database; extra ALGO_* settings give
    the app a context of its own (its own lockout counts)."""
    for key in list(os.environ):
        if key.startswith("ALGO_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ALGO_PROFILE", "dev")
    monkeypatch.setenv("ALGO_DATABASE_URL", demo_url)
    monkeypatch.setenv("ALGO_DATA_DIR", str(data_dir))

    def make(**settings: str) -> AppTest:
        for key, value in settings.items():
            monkeypatch.setenv(f"ALGO_{key.upper()}", value)
        return AppTest.from_file(str(APP), default_timeout=60)

    return make


def log_in(at: AppTest, user: str, password: str = DEMO_PASSWORD) -> AppTest:
    at.run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
        )


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
