"""The lease keeper on in-memory leases and a clock the test moves (issue #10, item 10)."""

from __future__ import annotations

import threading

import pytest

from algo_trading.domain.errors import ConfigError, DatabaseUnavailableError
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.ports import Lease, LeaseToken
from algo_trading.services.lease_keeper import LeaseConfig, LeaseKeeper
from tests.support.leases import MemoryLeases

S = 1_000_000_000
STRATEGIES = ("sma-sbin", "rsi-infy", "orb-tcs")


class Events:
    def __init__(self) -> None:
        self.gained: list[tuple[str, int]] = []
        self.lost: list[str] = []

    def on_gained(self, strategy_id: str, token: LeaseToken) -> None:
        self.gained.append((strategy_id, token.epoch))

    def on_lost(self, strategy_id: str, why: str) -> None:
        self.lost.append(strategy_id)


def _keeper(
    leases: MemoryLeases, owner: str, clock: SimulatedClock, events: Events | None = None
) -> LeaseKeeper:
    events = events or Events()
    return LeaseKeeper(
        leases,
        owner,
        STRATEGIES,
        clock,
        on_gained=events.on_gained,
        on_lost=events.on_lost,
    )


def test_the_first_instance_takes_every_free_strategy_and_says_so() -> None:
    leases, clock, events = MemoryLeases(), SimulatedClock(100 * S), Events()
    keeper = _keeper(leases, "a", clock, events)
    keeper.tick()
    assert keeper.owned() == list(STRATEGIES)
    assert events.gained == [(s, 1) for s in STRATEGIES]
    assert keeper.token("sma-sbin") == LeaseToken("a", 1)


def test_a_second_instance_takes_nothing_while_the_first_renews() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    a, b = _keeper(leases, "a", clock), _keeper(leases, "b", clock)
    for _ in range(20):  # 40 s of renewals
        a.tick()
        b.tick()
        clock.ts_ns += 2 * S
    assert a.owned() == list(STRATEGIES)
    assert b.owned() == []


def test_a_dead_instances_strategies_move_within_ttl_plus_one_period() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    a, events_b = _keeper(leases, "a", clock), Events()
    b = _keeper(leases, "b", clock, events_b)
    a.tick()
    died_at = clock.ts_ns
    while not b.owned():
        clock.ts_ns += 2 * S
        b.tick()  # a no longer ticks: dead
    assert clock.ts_ns - died_at <= int(LeaseConfig().takeover_s * S)
    assert clock.ts_ns - died_at < 30 * S
    assert b.owned() == list(STRATEGIES)
    assert [epoch for _, epoch in events_b.gained] == [2, 2, 2]


def test_a_paused_instance_stops_owning_by_its_own_clock_before_anyone_takes_over() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    events_a = Events()
    a = _keeper(leases, "a", clock, events_a)
    a.tick()
    clock.ts_ns += 9 * S + 1  # paused: no renewal; the lease (10 s) is within its margin
    assert a.token("sma-sbin") is None
    assert not a.owns("sma-sbin")
    b = _keeper(leases, "b", clock)
    clock.ts_ns += 2 * S
    b.tick()
    a.tick()  # a wakes up: its renewal is refused, and it hears it lost each one
    assert b.owned() == list(STRATEGIES)
    assert events_a.lost == list(STRATEGIES)
    assert a.owned() == []


def test_stop_releases_every_lease_so_another_instance_takes_them_at_once() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    a, b = _keeper(leases, "a", clock), _keeper(leases, "b", clock)
    a.tick()
    assert a.stop() == list(STRATEGIES)
    b.tick()  # no waiting for the time to live
    assert b.owned() == list(STRATEGIES)


def test_a_strategy_the_service_cannot_make_ready_is_released_for_another() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)

    def refuse(strategy_id: str, token: LeaseToken) -> None:
        if strategy_id == "rsi-infy":
            raise RuntimeError("reconciliation could not read the order book")

    a = LeaseKeeper(leases, "a", STRATEGIES, clock, on_gained=refuse)
    a.tick()
    assert a.owned() == ["sma-sbin", "orb-tcs"]
    lease = leases.get("rsi-infy")
    assert lease is not None
    assert lease.owner is None


class FlakyLeases(MemoryLeases):
    down = False

    def renew(self, strategy_id: str, token: LeaseToken, ttl_ns: int, now_ns: int) -> Lease | None:
        if self.down:
            raise DatabaseUnavailableError("database unreachable")
        return super().renew(strategy_id, token, ttl_ns, now_ns)


def test_an_unreachable_database_lets_the_lease_run_out_and_then_it_is_lost() -> None:
    leases, clock, events = FlakyLeases(), SimulatedClock(100 * S), Events()
    a = _keeper(leases, "a", clock, events)
    a.tick()
    leases.down = True
    clock.ts_ns += 2 * S
    a.tick()
    assert a.owned() == list(STRATEGIES)  # a missed renewal is not a lost lease
    assert events.lost == []
    clock.ts_ns += 8 * S
    a.tick()
    assert a.owned() == []
    assert events.lost == list(STRATEGIES)


@pytest.mark.parametrize(
    ("ttl_s", "renew_s"), [(10.0, 6.0), (0.0, 1.0), (10.0, 0.0)], ids=["slow", "ttl0", "renew0"]
)
def test_a_renewal_period_that_could_lose_the_lease_is_refused(
    ttl_s: float, renew_s: float
) -> None:
    with pytest.raises(ConfigError, match="lease"):
        LeaseConfig(ttl_s=ttl_s, renew_every_s=renew_s)


def test_with_a_share_three_instances_spread_the_strategies_and_a_survivor_takes_all() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    six = tuple(f"s{i}" for i in range(6))
    config = LeaseConfig(max_owned=2)
    a, b, c = (LeaseKeeper(leases, o, six, clock, config=config) for o in "abc")
    for keeper in (a, b, c):
        keeper.tick()
    assert (len(a.owned()), len(b.owned()), len(c.owned())) == (2, 2, 2)
    for _ in range(5):  # past the grace: nothing is free, nothing moves
        clock.ts_ns += 2 * S
        for keeper in (a, b, c):
            keeper.tick()
    assert (len(a.owned()), len(b.owned()), len(c.owned())) == (2, 2, 2)
    died_at = clock.ts_ns
    while len(c.owned()) < 6:  # a and b die: c, over its share, takes theirs after the grace
        clock.ts_ns += 2 * S
        c.tick()
    assert clock.ts_ns - died_at <= int(config.takeover_s * S)
    assert clock.ts_ns - died_at < 30 * S


def test_one_pass_hands_every_lease_it_took_to_the_batch_callback_at_once() -> None:
    # The service recovers what it gains by reading the broker's order book, a call limited
    # to one a second: one call per strategy made a start with N strategies take N seconds.
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    batches: list[dict[str, int]] = []
    keeper = LeaseKeeper(
        leases,
        "a",
        STRATEGIES,
        clock,
        on_gained_batch=lambda tokens: batches.append({s: t.epoch for s, t in tokens.items()}),
    )
    keeper.tick()
    keeper.tick()  # renewals only: nothing new to announce
    assert batches == [dict.fromkeys(STRATEGIES, 1)]


def test_a_batch_the_service_cannot_make_ready_is_released_whole() -> None:
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)

    def refuse(_tokens: dict[str, LeaseToken]) -> None:
        raise RuntimeError("the broker's books cannot be read")

    a = LeaseKeeper(leases, "a", STRATEGIES, clock, on_gained_batch=refuse)
    a.tick()
    assert a.owned() == []
    b = _keeper(leases, "b", clock)
    b.tick()
    assert b.owned() == list(STRATEGIES)  # at once: released, not left to run out


def test_leases_are_renewed_while_the_service_is_busy_recovering_what_it_just_took() -> None:
    # A takeover's recovery reads the broker's books under their rate limits and may take
    # seconds; renewing on the same thread, behind it, let an instance's own leases run out
    # mid-session (another instance then took them: churn, and the 30 s takeover missed).
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    busy, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def recover(tokens: dict[str, LeaseToken]) -> None:
        batches.append(list(tokens))
        if len(batches) > 1:  # the takeover: slow
            busy.set()
            assert release.wait(10)

    other = LeaseKeeper(leases, "b", STRATEGIES[2:], clock)
    other.tick()
    keeper = LeaseKeeper(leases, "a", STRATEGIES, clock, on_gained_batch=recover)
    keeper.tick()  # takes the two free ones at 100 s (until 110 s)
    other.stop(release=True)  # the third falls free
    taking = threading.Thread(target=keeper.tick)
    taking.start()
    try:
        assert busy.wait(10)  # the service recovers orb-tcs ...
        clock.ts_ns += 8 * S
        renewing = threading.Thread(target=keeper.renew_held)
        renewing.start()
        renewing.join(5)
        assert not renewing.is_alive(), "the renewal waited for the recovery"
        clock.ts_ns += 8 * S  # 116 s: past the first term, inside the renewed one
        assert keeper.owned() == list(STRATEGIES)
    finally:
        release.set()
        taking.join(10)
    assert batches == [list(STRATEGIES[:2]), [STRATEGIES[2]]]


def test_the_renewer_keeps_no_lease_for_a_service_whose_loop_is_stuck() -> None:
    # Renewing on a thread of its own must not let a hung loop hold its strategies forever:
    # while the loop does not turn, the leases run out and another instance takes them.
    leases, clock = MemoryLeases(), SimulatedClock(100 * S)
    keeper = _keeper(leases, "a", clock)
    keeper.tick()
    clock.ts_ns += 8 * S
    keeper.renew_held(alive=lambda: False)
    clock.ts_ns += 3 * S
    assert keeper.owned() == []
    b = _keeper(leases, "b", clock)
    b.tick()
    assert b.owned() == list(STRATEGIES)
    keeper.renew_held(alive=lambda: True)  # it wakes: the renewal fails, the leases are lost
    assert keeper.owned() == []
