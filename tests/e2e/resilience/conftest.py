"""Fixtures of the resilience acceptance tests (issue #10: crash, instances, faults): a fresh
PostgreSQL schema per module and the simulator on a free port."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from algo_trading.adapters.storage.sql import Database, upgrade
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.server import SimulatorServer
from algo_trading.simulator.testing import running_simulator
from tests.support.storage import find_postgres, fresh_schema


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, migrated, for one test module; fails under CI=true when the
    server is unreachable, skips (saying why) otherwise."""
    base, why = find_postgres()
    if base is None:
        message = f"PostgreSQL at 127.0.0.1:5432 (database test) is unreachable: {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with fresh_schema(base) as url:
        db = Database(url)
        try:
            upgrade(db)
        finally:
            db.dispose()
        yield url


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    """The simulator, always open, ticking every 50 ms (a MARKET order fills on the next
    tick, after its answer), its rate limits off unless a test injects them as a fault."""
    config = SimulatorConfig(port=0, always_open=True, tick_interval_s=0.05, rate_limits=False)
    with running_simulator(config) as server:
        yield server
