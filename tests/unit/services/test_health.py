"""Liveness and readiness decisions (issue #10 item 9), on a clock the test turns by hand."""

from __future__ import annotations

import threading

import pytest

from algo_trading.services.health import (
    HEARTBEAT_CHECK,
    CheckResult,
    Health,
    Heartbeat,
    ReadinessCheck,
    fresh_within,
    probe,
)

TIMEOUT_S = 5.0
JWT = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VybmFtZSI6IlMxIn0.c2lnbmF0dXJl"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Switch:
    """A readiness check whose answer the test sets."""

    def __init__(self, ok: bool = True, reason: str = "") -> None:
        self.result = CheckResult(ok, reason)

    def __call__(self) -> CheckResult:
        return self.result


def _health(clock: FakeClock, **checks: ReadinessCheck) -> Health:
    return Health(Heartbeat(10.0, clock), checks)


def test_a_new_heartbeat_is_fresh_and_goes_stale_after_its_limit() -> None:
    clock = FakeClock()
    health = _health(clock)
    assert health.liveness().alive
    clock.advance(10.0)
    assert health.liveness().alive  # the limit itself is still alive
    clock.advance(0.5)
    live = health.liveness()
    assert not live.alive
    assert live.body() == {"status": "stale", "heartbeat_age_s": 10.5, "stale_after_s": 10.0}


def test_a_beat_makes_a_stale_loop_alive_again() -> None:
    clock = FakeClock()
    health = _health(clock)
    clock.advance(60)
    assert not health.liveness().alive
    health.heartbeat.beat()
    assert health.liveness().alive
    assert health.liveness().heartbeat_age_s == 0.0


def test_a_clock_that_steps_back_gives_age_zero_not_a_negative_one() -> None:
    clock = FakeClock()
    beat = Heartbeat(5.0, clock)
    clock.advance(-3)
    assert beat.age_s() == 0.0


@pytest.mark.parametrize("limit", [0, -1.0])
def test_a_heartbeat_limit_must_be_positive(limit: float) -> None:
    with pytest.raises(ValueError, match="stale_after_s"):
        Heartbeat(limit, FakeClock())


def test_ready_only_when_every_check_passes_and_each_is_listed_in_order() -> None:
    clock = FakeClock()
    broker, feed = Switch(True, "session valid"), Switch(True)
    health = _health(clock, broker_session=broker, feed_fresh=feed)
    ready = health.readiness()
    assert ready.ready
    assert [c["name"] for c in ready.body()["checks"]] == [
        HEARTBEAT_CHECK,
        "broker_session",
        "feed_fresh",
    ]
    feed.result = CheckResult.failed("no tick for 42s")
    ready = health.readiness()
    assert not ready.ready
    assert ready.body()["status"] == "not ready"
    assert {"name": "feed_fresh", "ok": False, "reason": "no tick for 42s"} in ready.body()[
        "checks"
    ]
    feed.result = CheckResult.passed()
    assert health.readiness().ready


def test_a_stuck_loop_is_not_ready_either() -> None:
    clock = FakeClock()
    health = _health(clock, database=Switch(True))
    clock.advance(11)
    ready = health.readiness()
    assert not ready.ready
    assert ready.results[0][0] == HEARTBEAT_CHECK
    assert not ready.results[0][1].ok


def test_no_check_but_the_heartbeat_is_ready_while_the_loop_turns() -> None:
    assert _health(FakeClock()).readiness().ready


def test_a_check_that_raises_fails_with_its_masked_one_line_reason() -> None:
    def broken() -> CheckResult:
        raise ConnectionError(f"db down\n  token={JWT}\n  at line 3")

    ready = _health(FakeClock(), database=broken).readiness()
    _, result = ready.results[1]
    assert not result.ok
    assert result.reason.startswith("check raised ConnectionError: db down")
    assert "\n" not in result.reason
    assert JWT not in result.reason


def test_a_check_that_answers_something_else_fails_naming_what_it_returned() -> None:
    def sloppy() -> CheckResult:
        return True  # type: ignore[return-value]

    _, result = _health(FakeClock(), leases=sloppy).readiness().results[1]
    assert not result.ok
    assert "returned bool" in result.reason


def test_a_very_long_reason_is_cut_to_one_short_line() -> None:
    _, result = _health(FakeClock(), feed=Switch(False, "x" * 5000)).readiness().results[1]
    assert len(result.reason) <= 300


@pytest.mark.parametrize("name", ["", "Feed", "feed fresh", "1feed", "heartbeat", "a" * 41])
def test_a_check_name_must_be_a_short_snake_case_word(name: str) -> None:
    with pytest.raises(ValueError, match="readiness check name"):
        _health(FakeClock()).add_check(name, Switch())


def test_a_check_name_is_registered_once() -> None:
    health = _health(FakeClock(), leases=Switch())
    with pytest.raises(ValueError, match="already registered"):
        health.add_check("leases", Switch())
    assert health.check_names == (HEARTBEAT_CHECK, "leases")


def test_fresh_within_follows_the_last_seen_time() -> None:
    clock = FakeClock()
    last: list[float | None] = [None]
    check = fresh_within("tick", lambda: last[0], 5.0, clock)
    assert check() == CheckResult.failed("no tick yet")
    last[0] = clock.now
    clock.advance(5)
    assert check().ok
    clock.advance(0.1)
    assert not check().ok
    assert check().reason == "last tick 5.1s ago (limit 5s)"


def test_fresh_within_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_age_s"):
        fresh_within("tick", lambda: None, 0)


def test_a_probe_passes_when_its_action_returns_and_fails_when_it_raises() -> None:
    up = [True]

    def ping() -> None:
        if not up[0]:
            raise TimeoutError("SELECT 1 took over 1s")

    health = _health(FakeClock(), database=probe(ping, "SELECT 1 answered"))
    assert health.readiness().results[1][1] == CheckResult.passed("SELECT 1 answered")
    up[0] = False
    result = health.readiness().results[1][1]
    assert result == CheckResult.failed("check raised TimeoutError: SELECT 1 took over 1s")


def test_a_hung_check_is_reported_failing_not_called_again() -> None:
    release, entered = threading.Event(), threading.Event()
    calls = [0]

    def hangs() -> CheckResult:
        calls[0] += 1
        entered.set()
        release.wait(TIMEOUT_S)
        return CheckResult.passed()

    health = Health(Heartbeat(10.0, FakeClock()), {"database": hangs}, busy_wait_s=0.01)
    first = threading.Thread(target=health.readiness)
    first.start()
    try:
        assert entered.wait(TIMEOUT_S)
        _, result = health.readiness().results[1]
        assert result == CheckResult.failed("still running since an earlier request (hung?)")
        assert calls[0] == 1
    finally:
        release.set()
        first.join(TIMEOUT_S)
    assert health.readiness().ready  # answered again once the hung call returned
    assert calls[0] == 2
