"""The Leases port (engine/ports.py), one suite for every implementation: the in-memory
fake the service's unit tests use, and SqlLeases on SQLite and PostgreSQL. Fencing, races
and the audit trail are the database's: tests/integration/storage/test_leases.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from algo_trading.adapters.storage.sql import Database, SqlLeases, upgrade
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Lease, Leases, LeaseToken
from tests.support.leases import MemoryLeases
from tests.support.storage import fresh_schema, require_postgres

T0 = 1_700_000_000_000_000_000  # a whole microsecond: both databases keep microseconds
S = 1_000_000_000
TTL = 30 * S


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('leases') / 'contract.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def postgresql_db() -> Iterator[Database]:
    base = require_postgres()  # skips with its reason; fails under CI=true
    with fresh_schema(base) as url:
        db = Database(url)
        upgrade(db)
        yield db
        db.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def leases(request: pytest.FixtureRequest) -> Leases:
    if request.param == "memory":
        return MemoryLeases()
    return SqlLeases(request.getfixturevalue(f"{request.param}_db"))


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Strategy and owner names no other test uses (the databases are shared)."""
    run = uuid.uuid4().hex[:10]
    return lambda prefix: f"{prefix}{run}"


def _held(lease: Lease | None) -> Lease:
    assert lease is not None
    return lease


def test_a_free_strategy_is_acquired_in_epoch_one_and_nobody_else_gets_it_while_it_is_held(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy, a, b = unique("sma-"), unique("a-"), unique("b-")
    lease = _held(leases.acquire(strategy, a, TTL, T0))
    assert (lease.owner, lease.epoch, lease.acquired_ns, lease.expires_ns) == (a, 1, T0, T0 + TTL)
    assert leases.acquire(strategy, b, TTL, T0 + TTL - 1_000) is None
    assert leases.get(strategy) == lease
    assert [x.strategy_id for x in leases.held_by(a, T0 + S)] == [strategy]
    assert leases.held_by(a, T0 + TTL) == []  # expired: held by nobody
    assert leases.held_by(b, T0 + S) == []


def test_the_owner_renews_with_its_current_epoch_and_nobody_else_can(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    renewed = _held(leases.renew(strategy, token, TTL, T0 + 10 * S))
    assert (renewed.epoch, renewed.renewed_ns, renewed.expires_ns) == (1, T0 + 10 * S, T0 + 40 * S)
    assert leases.renew(strategy, LeaseToken("b", 1), TTL, T0 + 11 * S) is None
    assert leases.renew(strategy, LeaseToken("a", 2), TTL, T0 + 11 * S) is None
    assert leases.renew(unique("other-"), token, TTL, T0 + 11 * S) is None
    assert _held(leases.get(strategy)).expires_ns == T0 + 40 * S


def test_an_expired_lease_cannot_be_renewed_so_a_gap_in_ownership_always_means_a_new_epoch(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    assert leases.renew(strategy, token, TTL, T0 + TTL) is None
    again = _held(leases.acquire(strategy, "a", TTL, T0 + TTL))
    assert (again.owner, again.epoch) == ("a", 2)


def test_after_expiry_another_instance_takes_over_in_a_new_epoch_and_the_old_owner_holds_nothing(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy, a, b = unique("sma-"), unique("a-"), unique("b-")
    old = _held(leases.acquire(strategy, a, TTL, T0))
    assert strategy not in [x.strategy_id for x in leases.available(T0 + TTL - 1_000)]
    assert strategy in [x.strategy_id for x in leases.available(T0 + TTL)]
    new = _held(leases.acquire(strategy, b, TTL, T0 + TTL))
    assert (new.owner, new.epoch) == (b, old.epoch + 1)
    assert leases.renew(strategy, old.token(), TTL, T0 + TTL + S) is None
    assert leases.release(strategy, old.token(), T0 + TTL + S) is False
    assert leases.held_by(a, T0 + TTL + S) == []
    assert [x.strategy_id for x in leases.held_by(b, T0 + TTL + S)] == [strategy]


def test_a_released_lease_is_free_at_once_and_the_next_owner_gets_a_new_epoch(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    assert leases.release(strategy, LeaseToken("b", 1), T0 + S) is False
    assert leases.release(strategy, token, T0 + S) is True
    released = _held(leases.get(strategy))
    assert (released.owner, released.epoch) == (None, 1)
    assert strategy in [x.strategy_id for x in leases.available(T0 + S)]
    with pytest.raises(ValueError, match="released"):
        released.token()
    nxt = _held(leases.acquire(strategy, "b", TTL, T0 + 2 * S))
    assert (nxt.owner, nxt.epoch) == ("b", 2)


def test_an_instance_restarted_under_the_same_id_reacquires_in_a_new_epoch(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    """Its earlier incarnation may still be alive (paused): the new epoch fences it out."""
    strategy = unique("sma-")
    _held(leases.acquire(strategy, "a", TTL, T0))
    again = _held(leases.acquire(strategy, "a", TTL, T0 + S))
    assert (again.epoch, again.acquired_ns) == (2, T0 + S)


def test_a_time_to_live_that_is_not_positive_is_refused_before_any_write(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy = unique("sma-")
    with pytest.raises(ConfigError, match="time to live"):
        leases.acquire(strategy, "a", 0, T0)
    token = _held(leases.acquire(strategy, "a", TTL, T0)).token()
    with pytest.raises(ConfigError, match="time to live"):
        leases.renew(strategy, token, -1, T0 + S)
    assert _held(leases.get(strategy)).expires_ns == T0 + TTL


def test_a_strategy_never_leased_has_no_lease_and_is_not_listed(
    leases: Leases, unique: Callable[[str], str]
) -> None:
    strategy = unique("never-")
    assert leases.get(strategy) is None
    assert strategy not in [x.strategy_id for x in leases.available(T0 + 10 * TTL)]
    assert leases.renew(strategy, LeaseToken("a", 1), TTL, T0) is None
    assert leases.release(strategy, LeaseToken("a", 1), T0) is False
