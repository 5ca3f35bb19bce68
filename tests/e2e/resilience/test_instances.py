"""Instances (issue #10 acceptance): three `algo-trading trade --config FILE` processes on one
PostgreSQL share six strategies through leases (ALGO_LEASES=on, a fair share of two each);
one is SIGKILLed and one SIGSTOPped mid-session. Their strategies move to a live instance
within 30 seconds, no strategy is ever run by two instances (the lease audit trail against
every order's lease term), the stopped one, resumed, sends nothing (its own clock stops it,
the database's fence would refuse it), and the simulator holds no duplicate order.

Every strategy is `flipper.py`: it buys and sells back one share every few ticks, so every
instance is in the middle of its order flow when the signal comes. After the two survivors are
stopped with SIGTERM (drained, leases released), one last instance whose strategies place
nothing settles what was left in doubt, and the simulator's order book, trade book and
positions are compared with the `orders`, `trades` and `positions` tables.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlLeases, intents_outside_their_term
from algo_trading.simulator.server import SimulatorServer
from tests.e2e.resilience.service_procs import (
    TradeProcess,
    config_text,
    intents_of,
    prepare_folder,
    settle_then_stop,
    trade_env,
)
from tests.support.victims import broker_account, truth

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

ACCOUNT = "inst"
SYMBOLS = ("SBIN-EQ", "INFY-EQ", "TCS-EQ")
STRATEGIES = {f"s{i}": (SYMBOLS[i % 3],) for i in range(1, 7)}
MOVE_LIMIT_S = 30.0


def _owners(leases: SqlLeases) -> dict[str, str | None]:
    now = time.time_ns()
    found: dict[str, str | None] = {}
    for sid in STRATEGIES:
        lease = leases.get(sid)
        alive = lease is not None and lease.owner is not None and lease.expires_ns > now
        found[sid] = lease.owner if alive and lease is not None else None
    return found


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"not within {timeout_s}s: {what}")
        time.sleep(0.2)
    return time.monotonic() - start


def test_three_instances_hand_over_a_killed_and_a_paused_ones_strategies_without_overlap(
    pg_url: str, simulator: SimulatorServer, tmp_path: Path
) -> None:
    folder = prepare_folder(
        tmp_path,
        {
            "trade.toml": config_text(simulator.base_url, STRATEGIES, active=True),
            "settle.toml": config_text(simulator.base_url, STRATEGIES, active=False),
        },
    )
    common = {
        "ALGO_LEASES": "on",
        "ALGO_LEASE_TTL_S": "6",
        "ALGO_LEASE_MAX_OWNED": "2",
        # the three start together, but a loaded machine may start one late: the first two
        # leave its share free this long (takeover: 6 + 1.2 + 10 + 1.2 = 18.4 s at most)
        "ALGO_LEASE_OVERFLOW_GRACE_S": "10",
        "ALGO_CONFIRM_WINDOW_S": "3",
        "ALGO_RECONCILE_EVERY_S": "5",
        "ALGO_DRAIN_TIMEOUT_S": "10",
    }
    db = Database(pg_url)
    leases = SqlLeases(db)
    procs = {
        name: TradeProcess(
            folder, "trade.toml", trade_env(pg_url, account=ACCOUNT, instance=name, **common)
        )
        for name in ("aaa", "bbb", "ccc")
    }
    a, b, c = procs["aaa"], procs["bbb"], procs["ccc"]
    try:
        for proc in procs.values():
            proc.wait_for("trading service started", 90)
        _wait(lambda: all(_owners(leases).values()), 30, "every strategy has an owner")
        for proc in procs.values():
            proc.wait_for("placeOrder", 30)  # each of them trading
        owners = _owners(leases)
        assert sorted(str(o) for o in owners.values()) == ["aaa"] * 2 + ["bbb"] * 2 + ["ccc"] * 2, (
            owners
        )

        a.signal(signal.SIGKILL)
        moved_a = _wait(
            lambda: "aaa" not in _owners(leases).values() and all(_owners(leases).values()),
            MOVE_LIMIT_S,
            "the killed instance's strategies have new owners",
        )
        log.warning("the killed instance's strategies moved in %.1fs", moved_a)

        b.wait_for("placeOrder", 30)
        b.signal(signal.SIGSTOP)
        moved_b = _wait(
            lambda: set(_owners(leases).values()) == {"ccc"},
            MOVE_LIMIT_S,
            "the paused instance's strategies moved to the live one",
        )
        log.warning("the paused instance's strategies moved in %.1fs", moved_b)
        resumed_ns = time.time_ns()
        b.signal(signal.SIGCONT)
        b.wait_for("LEASE_LOST", 15)  # it finds out, and says so
        time.sleep(3.0)  # B runs again; a strategy it held would have traded many times
        # An intent B committed before the pause may still reach the broker when it resumes
        # (its place call was under way); none is recorded after it (and the books' check
        # below finds no broker order without its intent).
        after = intents_of(db, ACCOUNT, "bbb", resumed_ns)
        assert after == [], f"intents the resumed instance made: {after}"
        log.warning(
            "B recorded %d intents before its pause", len(intents_of(db, ACCOUNT, "bbb", 0))
        )
        assert set(_owners(leases).values()) == {"ccc"}
        c.wait_for("placeOrder", 5)

        for proc in (b, c):
            proc.signal(signal.SIGTERM)
        codes = {name: procs[name].reap(60) for name in ("bbb", "ccc")}
        assert codes == {"bbb": 0, "ccc": 0}, "\n".join(c.log.seen[-20:])
    finally:
        for proc in procs.values():
            proc.end()
    assert moved_a < MOVE_LIMIT_S
    assert moved_b < MOVE_LIMIT_S

    # One last instance, its strategies placing nothing: it takes every lease (the two
    # released theirs on SIGTERM) and settles what was left in doubt.
    account, http = broker_account(simulator.base_url)
    settle = TradeProcess(
        folder,
        "settle.toml",
        trade_env(
            pg_url, account=ACCOUNT, instance="settle", **{**common, "ALGO_LEASE_MAX_OWNED": "0"}
        ),
    )
    try:
        settle_then_stop(settle, account, db, ACCOUNT, start_s=90)
        found = truth(account, db, ACCOUNT)
        overlaps = {sid: intents_outside_their_term(db, sid) for sid in STRATEGIES}
    finally:
        settle.end()
        http.close()
        db.dispose()
    assert {sid: ids for sid, ids in overlaps.items() if ids} == {}
    assert found.duplicates == {}
    assert found.orders_without_intent == set()
    assert found.missing_fills == set()
    assert found.position_differences() == {}
    assert found.unresolved == []
    assert found.unattributed == []  # agreeing by the fills, not by a repair
    # the live instance took all six (its own, then A's and B's), each reconciled first, and
    # never lost one: it renewed them all along, however busy
    taken = {
        r["strategy"] for r in c.records(lambda r: "taken with lease epoch" in r.get("message", ""))
    }
    assert taken == set(STRATEGIES)
    assert c.lines("LEASE_LOST") == []
