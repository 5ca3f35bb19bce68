"""SIGTERM, as ECS sends it (issue #10, item 10): a real `algo-trading trade` instance drains
(no new orders, open orders cancelled as configured, leases released) and exits 0 within the
stop timeout; the other instance takes its strategies at once rather than after the lease's
time to live."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlLeases
from algo_trading.simulator.server import SimulatorServer
from tests.e2e.resilience.service_procs import (
    TradeProcess,
    config_text,
    intents_of,
    prepare_folder,
    trade_env,
)
from tests.support.victims import broker_account, truth

pytestmark = pytest.mark.slow

ACCOUNT = "drain"
STOP_TIMEOUT_S = 30.0
TTL_S = 10.0


def test_sigterm_drains_releases_the_leases_and_exits_0_within_the_stop_timeout(
    pg_url: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    both = {"d1": ("SBIN-EQ",), "d2": ("INFY-EQ",)}
    folder = prepare_folder(
        tmp_path,
        {
            "d1.toml": config_text(simulator.base_url, {"d1": both["d1"]}, active=True),
            "both.toml": config_text(simulator.base_url, both, active=True),
            "settle.toml": config_text(simulator.base_url, both, active=False),
        },
    )
    common = {
        "ALGO_LEASES": "on",
        "ALGO_LEASE_TTL_S": str(TTL_S),
        "ALGO_DRAIN_CANCEL_OPEN": "true",
        "ALGO_CONFIRM_WINDOW_S": "3",
        "ALGO_RECONCILE_EVERY_S": "2",
    }
    db = Database(pg_url)
    leases = SqlLeases(db)
    first = TradeProcess(
        folder, "d1.toml", trade_env(pg_url, account=ACCOUNT, instance="aaa", **common)
    )
    second: TradeProcess | None = None
    try:
        first.wait_for("taken with lease epoch", 90)  # d1 is aaa's: started first
        second = TradeProcess(
            folder, "both.toml", trade_env(pg_url, account=ACCOUNT, instance="bbb", **common)
        )
        second.wait_for("strategy d2 taken", 90)  # takes d2, stands by for d1
        first.wait_for("placeOrder", 30)
        lease = leases.get("d1")
        assert lease is not None
        assert lease.owner == "aaa"

        signalled_ns = time.time_ns()
        first.signal(signal.SIGTERM)
        sent = time.monotonic()
        code = first.reap(STOP_TIMEOUT_S)
        took = time.monotonic() - sent
        assert code == 0, "\n".join(first.log.seen[-20:])
        assert took < STOP_TIMEOUT_S
        assert first.lines("trading service stopped")

        def taken_over() -> bool:
            lease = leases.get("d1")
            return lease is not None and lease.owner == "bbb"

        start = time.monotonic()
        while not taken_over():
            assert time.monotonic() - start < TTL_S, "the released lease was not taken at once"
            time.sleep(0.1)
    finally:
        first.end()
        if second is not None:
            second.signal(signal.SIGTERM)
            second.reap(60)
            second.end()
    # nothing of aaa's once the signal was handled (a turn under way may finish its orders)
    assert intents_of(db, ACCOUNT, "aaa", signalled_ns + 500_000_000) == []

    account, http = broker_account(simulator.base_url)
    settle = TradeProcess(
        folder, "settle.toml", trade_env(pg_url, account=ACCOUNT, instance="settle", **common)
    )
    try:
        settle.wait_for("trading service started", 90)
        deadline = time.monotonic() + 60
        while True:
            found = truth(account, db, ACCOUNT)
            if not (found.unresolved or found.missing_fills or found.position_differences()):
                break
            assert time.monotonic() < deadline, f"not settled: {found}"
            time.sleep(0.5)
        settle.signal(signal.SIGTERM)
        assert settle.reap(60) == 0
    finally:
        settle.end()
        http.close()
        db.dispose()
    assert found.duplicates == {}
    assert found.orders_without_intent == set()
    assert found.missing_fills == set()
    assert found.position_differences() == {}
    assert found.unresolved == []
