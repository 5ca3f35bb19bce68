"""Strategy leases and fencing (issue #10), on SQLite and PostgreSQL: one owner at a time, a
new epoch on every acquire, and the database refusing an intent from any term but the
current one, so an instance that lost its lease writes nothing and so sends nothing. Time is
passed in (`now_ns`); no test reads the wall clock."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import (
    Database,
    SqlLeases,
    SqlTradeLog,
    SqlUnitOfWork,
    downgrade,
    upgrade,
)
from algo_trading.adapters.storage.sql.lease_audit import (
    LeaseTerm,
    intents_outside_their_term,
    lease_terms,
)
from algo_trading.adapters.storage.sql.leases import ACQUIRE, RELEASE, TAKEOVER, lease_subject
from algo_trading.adapters.storage.sql.models import AuditEntry, OrderRow
from algo_trading.domain import ClientOrderId, OrderEvent, OrderStatus, StrategyId
from algo_trading.domain.errors import StaleLeaseError, StorageError
from algo_trading.engine.ports import Lease, LeaseToken
from tests.integration.storage.test_concurrency import _in_processes
from tests.support.builders import make_order
from tests.support.leases import MemoryLeases

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
TTL = 30 * S
WORKERS = 4


@pytest.fixture
def leases(database: Database) -> SqlLeases:
    return SqlLeases(database)


def _fenced(db: Database, tokens: dict[str, LeaseToken]) -> SqlTradeLog:
    """A trade log that records intents under whatever term `tokens` holds for a strategy."""
    return SqlTradeLog(db, fence=lambda strategy: tokens.get(strategy))


def _intent(log: SqlTradeLog, coid: str, strategy: str, at_ns: int) -> None:
    order = make_order(coid, strategy_id=strategy, created_ns=at_ns)
    order.apply(OrderEvent.SUBMIT, at_ns)
    log.record_order(order, OrderEvent.SUBMIT)


def _written(db: Database, coid: str) -> tuple[object, list[tuple[OrderEvent, OrderStatus]]]:
    """The stored order (None if none) and its events: both empty when an intent was refused."""
    with SqlUnitOfWork(db, read_only=True) as uow:
        return uow.orders.get(ClientOrderId(coid)), uow.orders.events(ClientOrderId(coid))


def _term(db: Database, coid: str) -> tuple[str | None, int | None]:
    with db.engine.connect() as conn:
        row = conn.execute(
            select(OrderRow.lease_owner, OrderRow.lease_epoch).where(
                OrderRow.client_order_id == coid
            )
        ).one()
    return row.lease_owner, row.lease_epoch


def _audit(db: Database, strategy: str) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action)
            .where(AuditEntry.subject == lease_subject(strategy))
            .order_by(AuditEntry.id)
        )
        return [(r.actor, r.action) for r in rows]


def _held(lease: Lease | None) -> Lease:
    assert lease is not None
    return lease


# --- audit, limits, clock (the rules themselves: tests/contract/test_leases_contract.py) ----


def test_every_acquire_takeover_and_release_is_in_the_audit_log_and_renewals_are_not(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    a = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    leases.renew(strategy, a, TTL, T0 + S)
    b = _held(leases.acquire(strategy, "b", TTL, T0 + S + TTL)).token()
    leases.release(strategy, b, T0 + S + TTL + S)
    _held(leases.acquire(strategy, "c", TTL, T0 + 3 * TTL))
    assert leases.acquire(strategy, "d", TTL, T0 + 3 * TTL) is None  # refused: not a change
    assert _audit(database, strategy) == [
        ("a", ACQUIRE),
        ("b", TAKEOVER),
        ("b", RELEASE),
        ("c", ACQUIRE),
    ]


def test_the_audit_trail_gives_each_terms_owner_epoch_start_and_end_and_no_order_outside_one(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    a = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    _intent(_fenced(database, {strategy: a}), unique("A"), strategy, T0 + S)
    _held(leases.renew(strategy, a, TTL, T0 + 10 * S))
    b = _held(leases.acquire(strategy, "b", TTL, T0 + 41 * S)).token()
    _intent(_fenced(database, {strategy: b}), unique("B"), strategy, T0 + 42 * S)
    assert leases.release(strategy, b, T0 + 50 * S)
    c = _held(leases.acquire(strategy, "c", TTL, T0 + 60 * S)).token()
    _intent(_fenced(database, {strategy: c}), unique("C"), strategy, T0 + 61 * S)
    assert lease_terms(database, strategy) == [
        LeaseTerm("a", 1, T0, T0 + 41 * S),
        LeaseTerm("b", 2, T0 + 41 * S, T0 + 50 * S),
        LeaseTerm("c", 3, T0 + 60 * S, None),
    ]
    assert intents_outside_their_term(database, strategy) == []


def test_the_audit_trail_exposes_an_order_written_past_a_disabled_fence(
    empty_url: str, unique: Callable[[str], str]
) -> None:
    """The check does not trust the fence: with the trigger dropped (as the schema owner
    could), a stale instance's intent and an unleased writer's are both named."""
    db = Database(empty_url)
    try:
        upgrade(db)
        strategy = unique("sma-")
        leases = SqlLeases(db)
        old = _held(leases.acquire(strategy, "a", TTL, T0)).token()
        _intent(_fenced(db, {strategy: old}), unique("OK"), strategy, T0 + S)
        _held(leases.acquire(strategy, "b", TTL, T0 + TTL + S))
        _drop_the_fence(db, empty_url)
        _intent(_fenced(db, {strategy: old}), unique("STALE"), strategy, T0 + TTL + 2 * S)
        _intent(SqlTradeLog(db), unique("NOTERM"), strategy, T0 + TTL + 3 * S)
        assert intents_outside_their_term(db, strategy) == [unique("STALE"), unique("NOTERM")]
    finally:
        db.dispose()


def _drop_the_fence(db: Database, url: str) -> None:
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER orders_lease_fence ON orders"))
        return
    # the application's SQLite connections may not change the schema: a tool's may
    with closing(sqlite3.connect(make_url(url).database or "", isolation_level=None)) as raw:
        raw.execute("DROP TRIGGER orders_lease_fence")


def test_an_id_too_long_for_its_column_is_refused_before_any_write(
    leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    with pytest.raises(StorageError, match=r"leases\.owner"):
        leases.acquire(strategy, "x" * 65, TTL, T0)
    assert leases.get(strategy) is None


def test_the_callers_clock_is_measured_against_the_databases(leases: SqlLeases) -> None:
    """Two readings a minute apart on the caller's clock, taken moments apart on the
    database's, differ by that minute less the moments (bounded generously for a busy host)."""
    first = leases.skew_ns(T0)
    second = leases.skew_ns(T0 + 60 * S)
    assert 50 * S < second - first <= 60 * S


# --- races ---------------------------------------------------------------------------------


def _acquire(db: Database, strategy: str, owner: str, now_ns: int) -> tuple[str, int] | None:
    lease = SqlLeases(db).acquire(strategy, owner, TTL, now_ns)
    return None if lease is None else (owner, lease.epoch)


def test_four_instances_racing_for_a_new_lease_get_exactly_one_winner(
    migrated_url: str, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy = unique("race-")
    won = _in_processes(_acquire, migrated_url, [(strategy, f"i{k}", T0) for k in range(WORKERS)])
    winners = [w for w in won if w is not None]
    assert len(winners) == 1
    owner, epoch = winners[0]
    assert epoch == 1
    assert _held(leases.get(strategy)).owner == owner


def test_four_instances_racing_to_take_over_an_expired_lease_get_exactly_one_winner(
    migrated_url: str, database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy = unique("race-")
    _held(leases.acquire(strategy, "dead", TTL, T0))
    at = T0 + TTL + S
    won = _in_processes(_acquire, migrated_url, [(strategy, f"i{k}", at) for k in range(WORKERS)])
    winners = [w for w in won if w is not None]
    assert len(winners) == 1
    assert winners[0][1] == 2
    assert _held(leases.get(strategy)).owner == winners[0][0]
    assert [a for _, a in _audit(database, strategy)] == [ACQUIRE, TAKEOVER]


# --- fencing -------------------------------------------------------------------------------


def test_an_intent_under_the_current_lease_is_recorded_with_its_owner_and_epoch(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy, coid = unique("sma-"), unique("F")
    tokens = {strategy: _held(leases.acquire(strategy, "a", TTL, T0)).token()}
    _intent(_fenced(database, tokens), coid, strategy, T0 + S)
    assert _written(database, coid)[1] == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)]
    assert _term(database, coid) == ("a", 1)


def test_after_a_takeover_an_intent_from_the_old_epoch_is_refused_and_nothing_is_written(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy, coid = unique("sma-"), unique("F")
    old = {strategy: _held(leases.acquire(strategy, "a", TTL, T0)).token()}
    _held(leases.acquire(strategy, "b", TTL, T0 + TTL))
    with pytest.raises(StaleLeaseError, match=rf"strategy {strategy}: .*owner a epoch 1"):
        _intent(_fenced(database, old), coid, strategy, T0 + TTL + S)
    assert _written(database, coid) == (None, [])


def test_a_paused_owner_that_resumes_after_a_takeover_cannot_record_an_intent(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    """Paused (GC, SIGSTOP, a partition) before its lease ran out: it still believes it holds
    the lease, and its order is even stamped from before the pause, inside its old term."""
    strategy, before, after = unique("sma-"), unique("P"), unique("Q")
    paused = {strategy: _held(leases.acquire(strategy, "a", TTL, T0)).token()}
    takeover = _held(leases.acquire(strategy, "b", TTL, T0 + TTL + S))
    log = _fenced(database, paused)
    with pytest.raises(StaleLeaseError):
        _intent(log, before, strategy, T0 + 5 * S)
    with pytest.raises(StaleLeaseError):
        _intent(log, after, strategy, T0 + TTL + 2 * S)
    assert _written(database, before) == (None, [])
    assert _written(database, after) == (None, [])
    # the new owner trades on
    coid = unique("R")
    _intent(_fenced(database, {strategy: takeover.token()}), coid, strategy, T0 + TTL + 3 * S)
    assert _term(database, coid) == ("b", 2)


def test_an_intent_stamped_at_or_after_the_lease_expiry_is_refused_even_before_a_takeover(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy, late, in_time = unique("sma-"), unique("L"), unique("I")
    log = _fenced(database, {strategy: _held(leases.acquire(strategy, "a", TTL, T0)).token()})
    with pytest.raises(StaleLeaseError):
        _intent(log, late, strategy, T0 + TTL)
    _intent(log, in_time, strategy, T0 + TTL - 1_000)
    assert _written(database, late) == (None, [])
    assert _term(database, in_time) == ("a", 1)


def test_a_released_lease_fences_its_last_owner_out(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy, coid = unique("sma-"), unique("F")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    assert leases.release(strategy, token, T0 + S)
    with pytest.raises(StaleLeaseError):
        _intent(_fenced(database, {strategy: token}), coid, strategy, T0 + S // 2)
    assert _written(database, coid) == (None, [])


def test_a_fenced_trade_log_refuses_a_strategy_it_holds_no_lease_for_without_writing(
    database: Database, unique: Callable[[str], str]
) -> None:
    strategy, coid = unique("sma-"), unique("F")
    with pytest.raises(StaleLeaseError, match="no lease term"):
        _intent(_fenced(database, {}), coid, strategy, T0)
    assert _written(database, coid) == (None, [])


def test_a_risk_refusal_first_recorded_by_a_fenced_trade_log_carries_the_lease_term(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    strategy, coid = unique("sma-"), unique("F")
    log = _fenced(database, {strategy: _held(leases.acquire(strategy, "a", TTL, T0)).token()})
    order = make_order(coid, strategy_id=strategy, created_ns=T0 + S)
    order.apply(OrderEvent.REJECT, T0 + S, "MAX_ORDER_VALUE")
    log.record_order(order, OrderEvent.REJECT)
    assert _term(database, coid) == ("a", 1)


def test_without_a_fence_unleased_strategies_trade_as_before_and_leased_ones_are_refused(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    """Today's single instance passes no fence and is unchanged; but once a strategy is
    leased, a writer that carries no term (an old build, a tool) cannot slip an intent in."""
    free, leased = unique("free-"), unique("sma-")
    _held(leases.acquire(leased, "a", TTL, T0))
    plain = SqlTradeLog(database)
    _intent(plain, unique("U"), free, T0)
    assert _term(database, unique("U")) == (None, None)
    with pytest.raises(StaleLeaseError, match="no lease term"):
        _intent(plain, unique("V"), leased, T0 + S)
    assert _written(database, unique("V")) == (None, [])


def test_an_intent_waits_for_a_takeover_in_progress_and_is_then_refused(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    """PostgreSQL: the fence reads the lease FOR SHARE, so an intent cannot slip in on the old
    epoch while a takeover is being written, nor commit after the new owner starts reading.
    (On SQLite the write lock orders them the same way.)"""
    if database.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes every writer")
    strategy, coid = unique("sma-"), unique("W")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            _intent(_fenced(database, {strategy: token}), coid, strategy, T0 + S)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    with database.engine.connect() as takeover:
        pid = takeover.execute(text("SELECT pg_backend_pid()")).scalar_one()
        takeover.execute(
            text("UPDATE leases SET owner = 'b', epoch = epoch + 1 WHERE strategy = :s"),
            {"s": strategy},
        )
        writer.start()
        _wait_until_blocked_by(database, pid)
        takeover.commit()
    writer.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], StaleLeaseError)
    assert _written(database, coid) == (None, [])


def _wait_until_blocked_by(database: Database, pid: int, timeout_s: float = 20.0) -> None:
    """Poll until a session waits for a lock that session `pid` holds (the intent)."""
    deadline = time.monotonic() + timeout_s
    with database.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"
                ),
                {"pid": pid},
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)  # polling a condition with a deadline, not waiting for time
    raise AssertionError("the intent never waited for the takeover's row lock")


# --- schema --------------------------------------------------------------------------------


def test_downgrading_below_leases_keeps_orders_and_upgrading_fences_again(
    empty_url: str, unique: Callable[[str], str]
) -> None:
    db = Database(empty_url)
    try:
        upgrade(db)
        strategy, coid = unique("sma-"), unique("D")
        token = _held(SqlLeases(db).acquire(strategy, "a", TTL, T0)).token()
        _intent(_fenced(db, {strategy: token}), coid, strategy, T0 + S)
        assert downgrade(db, "0004").current == "0004"
        with db.engine.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT client_order_id FROM orders"))}
        assert coid in names
        upgrade(db)
        assert SqlLeases(db).get(strategy) is None  # leases start afresh
        assert _written(db, coid)[1] == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)]
    finally:
        db.dispose()


def test_the_app_role_may_take_renew_and_release_leases_and_record_fenced_intents(
    app_database: Database, unique: Callable[[str], str]
) -> None:
    """On PostgreSQL the services connect as the application role: the fence reads the lease
    FOR SHARE, which needs UPDATE on leases, and the role must not be able to DELETE one (an
    epoch must never start again at 1)."""
    strategy, coid = unique("sma-"), unique("A")
    leases = SqlLeases(app_database)
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    _held(leases.renew(strategy, token, TTL, T0 + S))
    _intent(_fenced(app_database, {strategy: token}), coid, strategy, T0 + 2 * S)
    assert leases.release(strategy, token, T0 + 3 * S)
    if app_database.dialect == "postgresql":
        with app_database.engine.connect() as conn, pytest.raises(DBAPIError, match="denied"):
            conn.execute(text("DELETE FROM leases WHERE strategy = :s"), {"s": strategy})


def test_strategy_ids_are_typed_at_the_fence(
    database: Database, leases: SqlLeases, unique: Callable[[str], str]
) -> None:
    """The fence is asked with the order's StrategyId, as the engine holds it."""
    strategy, coid = unique("sma-"), unique("T")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    asked: list[StrategyId] = []

    def fence(s: StrategyId) -> LeaseToken | None:
        asked.append(s)
        return token

    _intent(SqlTradeLog(database, fence=fence), coid, strategy, T0 + S)
    assert asked == [StrategyId(strategy)]


# --- any history ---------------------------------------------------------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "renew", "release", "intent"]),
        st.integers(min_value=0, max_value=2),  # which of three instances
        st.integers(min_value=0, max_value=20),  # seconds since the previous step
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS)
def test_in_any_history_the_database_accepts_exactly_the_intents_of_the_current_unexpired_term(
    database: Database, ops: list[tuple[str, int, int]]
) -> None:
    """Three instances acquire, renew, release and record intents at random moments, each
    with the last term it was given: the database agrees with the in-memory model on every
    answer, and accepts an intent only from the current owner, in its epoch, before expiry."""
    run = uuid.uuid4().hex[:10]
    strategy, owners = f"h-{run}", [f"i{k}-{run}" for k in range(3)]
    model, sql = MemoryLeases(), SqlLeases(database)
    tokens: dict[int, LeaseToken] = {}
    now = T0
    for n, (op, who, step_s) in enumerate(ops):
        now += step_s * S
        token = tokens.get(who)
        if op == "acquire":
            expected = model.acquire(strategy, owners[who], TTL, now)
            assert sql.acquire(strategy, owners[who], TTL, now) == expected
            if expected is not None:
                tokens[who] = expected.token()
        elif op == "renew" and token is not None:
            assert sql.renew(strategy, token, TTL, now) == model.renew(strategy, token, TTL, now)
        elif op == "release" and token is not None:
            assert sql.release(strategy, token, now) == model.release(strategy, token, now)
        elif op == "intent":
            current = model.get(strategy)
            allowed = (
                token is not None
                and current is not None
                and current.owner is not None
                and current.token() == token
                and now < current.expires_ns
            )
            coid = f"H{n}-{run}"
            log = _fenced(database, {} if token is None else {strategy: token})
            try:
                _intent(log, coid, strategy, now)
            except StaleLeaseError:
                assert not allowed
                assert _written(database, coid) == (None, [])
            else:
                assert allowed
                assert _term(database, coid) == (token.owner, token.epoch)
    assert sql.get(strategy) == model.get(strategy)
    assert intents_outside_their_term(database, strategy) == []
