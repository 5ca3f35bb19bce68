"""SIGTERM, as ECS sends it (issue #10, item 10): the instance drains (no new orders, open
orders cancelled as configured, leases released) and exits 0 within the stop timeout; the
other instance takes its strategies at once rather than after the lease's time to live."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlLeases
from algo_trading.simulator.server import SimulatorServer
from tests.support.victims import Lines, broker_account, run_to_end, truth, victim_argv, victim_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
ACCOUNT = "drain"
STOP_TIMEOUT_S = 30.0
TTL_S = 10.0


def _start(base: list[str], name: str, strategies: str) -> tuple[subprocess.Popen[str], Lines]:
    proc = subprocess.Popen(
        victim_argv(*base, "--instance", name, "--strategies", strategies),
        cwd=REPO,
        env=victim_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Lines(proc.stdout)


def _end(proc: subprocess.Popen[str], lines: Lines) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait(timeout=10)
    lines.join()
    if proc.stdout is not None:
        proc.stdout.close()


def test_sigterm_drains_releases_the_leases_and_exits_0_within_the_stop_timeout(
    pg_url: str, simulator: SimulatorServer
) -> None:
    base = ["--db", pg_url, "--sim", simulator.base_url, "--account", ACCOUNT, "--leases"]
    base += ["--lease-ttl-s", str(TTL_S), "--order-every-s", "0.05", "--drain-cancel-open"]
    db = Database(pg_url)
    leases = SqlLeases(db)
    first, first_out = _start(base, "aaa", "d1")  # d1 is aaa's: started first
    first_out.wait_for("GAINED", 60)
    second, second_out = _start(base, "bbb", "d1,d2")  # takes d2, stands by for d1
    try:
        second_out.wait_for("GAINED d2", 60)
        first_out.wait_for("ORDER", 30)
        held = [s for s in ("d1", "d2") if (lease := leases.get(s)) and lease.owner == "aaa"]
        assert held == ["d1"]

        first.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = first.wait(timeout=STOP_TIMEOUT_S)
        took = time.monotonic() - sent
        drained = json.loads(first_out.wait_for("DRAINED", 5).split(" ", 1)[1])
        assert code == 0
        assert took < STOP_TIMEOUT_S
        assert drained == {"released": held, "still_open": []}
        orders_then = first_out.count("ORDER")

        def taken_over() -> bool:
            lease = leases.get(held[0])
            return lease is not None and lease.owner == "bbb"

        start = time.monotonic()
        while not taken_over():
            assert time.monotonic() - start < TTL_S, "the released lease was not taken at once"
            time.sleep(0.1)
        time.sleep(1.0)
        assert first_out.count("ORDER") == orders_then  # nothing after the signal
    finally:
        _end(first, first_out)
        _end(second, second_out)

    code, lines = run_to_end(
        [
            *("--db", pg_url, "--sim", simulator.base_url, "--account", ACCOUNT),
            "--instance",
            "settle",
            "--mode",
            "settle",
        ]
    )
    assert code == 0, "\n".join(lines[-20:])
    account, http = broker_account(simulator.base_url)
    try:
        with http:
            found = truth(account, db, ACCOUNT)
    finally:
        db.dispose()
    assert found.duplicates == {}
    assert found.missing_fills == set()
    assert found.position_differences() == {}
    assert found.unresolved == []
