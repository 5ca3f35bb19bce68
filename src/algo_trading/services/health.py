"""Liveness and readiness of a service (issue #10 item 9), with no I/O of its own: the HTTP
server in `health_server.py` only renders what this module decides.

- Liveness (`/healthz`): the process answers and its loop is ticking. The trading loop calls
  `Heartbeat.beat()` once per turn; a heartbeat older than `stale_after_s` means the loop is
  stuck (a blocked call, a deadlock), and the orchestrator should restart the task.
- Readiness (`/readyz`): the service may be given work. Each condition is a `ReadinessCheck`,
  a callable injected by the composition root that answers `CheckResult(ok, reason)`: broker
  session valid, feed fresh, database reachable, this instance's leases held. The heartbeat is
  always the first check: a service whose loop is stuck is not ready either.

A check is called on the server's thread at each request, so it must answer quickly from state
the service keeps (the time of the last tick, the lease table's last answer) or bound its own
I/O with a timeout. One that hangs anyway is not called again while it hangs: later requests
report it failing, so it holds one thread, not one per scrape. A check that raises is reported
as failing with the exception's type and message (masked: a reason may be shown on a network
port), never as a server error.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from algo_trading.adapters.logs import redact

__all__ = [
    "HEARTBEAT_CHECK",
    "CheckResult",
    "Health",
    "Heartbeat",
    "Liveness",
    "MonotonicClock",
    "Readiness",
    "ReadinessCheck",
    "fresh_within",
    "probe",
]

MonotonicClock = Callable[[], float]
"""Seconds from an arbitrary origin that never goes back (`time.monotonic` in a service)."""

HEARTBEAT_CHECK = "heartbeat"
_CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REASON_MAX = 300  # one line in a JSON body, not a stack trace


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One readiness check's answer: `reason` says why it fails (or what it saw when it passes)."""

    ok: bool
    reason: str = ""

    @classmethod
    def passed(cls, reason: str = "") -> CheckResult:
        return cls(True, reason)

    @classmethod
    def failed(cls, reason: str) -> CheckResult:
        return cls(False, reason)


ReadinessCheck = Callable[[], CheckResult]


class Heartbeat:
    """The time of the trading loop's last turn. `beat()` is one clock read and one store, cheap
    enough for every turn; the server thread reads it without a lock (a float store is atomic).

    Creating it counts as the first beat, so a service is alive for `stale_after_s` while it
    starts (reconciliation before the first turn must fit in that time). A loop that waits
    (outside the session, on a holiday) beats while it waits: idle is alive, stuck is not.
    """

    def __init__(self, stale_after_s: float, clock: MonotonicClock = time.monotonic) -> None:
        if not stale_after_s > 0:
            raise ValueError(f"stale_after_s must be positive, not {stale_after_s!r}")
        self._clock = clock
        self.stale_after_s = float(stale_after_s)
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age_s(self) -> float:
        """Seconds since the last beat (never negative)."""
        return max(0.0, self._clock() - self._last)

    def is_fresh(self) -> bool:
        return self.age_s() <= self.stale_after_s


@dataclass(frozen=True, slots=True)
class Liveness:
    alive: bool
    heartbeat_age_s: float
    stale_after_s: float

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.alive else "stale",
            "heartbeat_age_s": round(self.heartbeat_age_s, 3),
            "stale_after_s": self.stale_after_s,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    results: tuple[tuple[str, CheckResult], ...]

    @property
    def ready(self) -> bool:
        return all(result.ok for _, result in self.results)

    def body(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": [
                {"name": name, "ok": result.ok, "reason": result.reason}
                for name, result in self.results
            ],
        }


class Health:
    """The heartbeat and the named readiness checks of one service.

    Checks can be added after construction (the broker session and the leases exist only once
    bootstrap has made them); they run in the order they were added.
    """

    def __init__(
        self,
        heartbeat: Heartbeat,
        checks: Mapping[str, ReadinessCheck] | None = None,
        *,
        busy_wait_s: float = 1.0,
    ) -> None:
        self.heartbeat = heartbeat
        self._busy_wait_s = busy_wait_s
        self._lock = threading.Lock()
        self._checks: dict[str, _Guarded] = {}
        for name, check in (checks or {}).items():
            self.add_check(name, check)

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        """Register `check` under `name` (lower-case, digits, `_`; unique)."""
        if not _CHECK_NAME.match(name) or name == HEARTBEAT_CHECK:
            raise ValueError(
                f"readiness check name {name!r}: use 1 to 40 lower-case letters, digits or _, "
                f"starting with a letter, other than {HEARTBEAT_CHECK!r}"
            )
        with self._lock:
            if name in self._checks:
                raise ValueError(f"readiness check {name!r} is already registered")
            self._checks[name] = _Guarded(check)

    @property
    def check_names(self) -> tuple[str, ...]:
        with self._lock:
            return (HEARTBEAT_CHECK, *self._checks)

    def liveness(self) -> Liveness:
        beat = self.heartbeat
        age = beat.age_s()
        return Liveness(age <= beat.stale_after_s, age, beat.stale_after_s)

    def readiness(self) -> Readiness:
        live = self.liveness()
        first = CheckResult(
            live.alive,
            f"last loop turn {live.heartbeat_age_s:.1f}s ago (limit {live.stale_after_s:g}s)",
        )
        with self._lock:
            checks = list(self._checks.items())
        wait = self._busy_wait_s
        return Readiness(((HEARTBEAT_CHECK, first), *((n, c.run(wait)) for n, c in checks)))


class _Guarded:
    """One check, called by one request at a time. A call still running from an earlier
    request (a probe stuck on a dead connection) is waited for up to `busy_wait_s`, then
    reported as failing, rather than called again: a hung check holds one server thread, not
    one more at every scrape."""

    def __init__(self, check: ReadinessCheck) -> None:
        self._check = check
        self._busy = threading.Lock()

    def run(self, busy_wait_s: float) -> CheckResult:
        if not self._busy.acquire(timeout=busy_wait_s):
            return CheckResult.failed("still running since an earlier request (hung?)")
        try:
            return _run(self._check)
        finally:
            self._busy.release()


def _run(check: ReadinessCheck) -> CheckResult:
    try:
        result: object = check()  # an untyped caller may hand back anything
    except Exception as exc:  # a failing probe is a not-ready answer, never a server error
        return CheckResult.failed(_one_line(f"check raised {type(exc).__name__}: {exc}"))
    if not isinstance(result, CheckResult):
        return CheckResult.failed(f"check returned {type(result).__name__}, not a CheckResult")
    return CheckResult(bool(result.ok), _one_line(result.reason))


def _one_line(text: str) -> str:
    line = " ".join(redact(text).split())
    return line if len(line) <= _REASON_MAX else line[: _REASON_MAX - 1] + "…"


def fresh_within(
    what: str,
    last_seen: Callable[[], float | None],
    max_age_s: float,
    clock: MonotonicClock = time.monotonic,
) -> ReadinessCheck:
    """A check that passes while `last_seen()` (a reading of `clock`, or None before the first
    one) is at most `max_age_s` old: "feed fresh" from the time of the last tick."""
    if not max_age_s > 0:
        raise ValueError(f"max_age_s must be positive, not {max_age_s!r}")

    def check() -> CheckResult:
        seen = last_seen()
        if seen is None:
            return CheckResult.failed(f"no {what} yet")
        age = max(0.0, clock() - seen)
        verdict = CheckResult.passed if age <= max_age_s else CheckResult.failed
        return verdict(f"last {what} {age:.1f}s ago (limit {max_age_s:g}s)")

    return check


def probe(action: Callable[[], object], ok_reason: str = "") -> ReadinessCheck:
    """A check that passes when `action()` returns and fails with the exception's message when
    it raises: "database reachable" from a `SELECT 1` with a statement timeout."""

    def check() -> CheckResult:
        action()
        return CheckResult.passed(ok_reason)

    return check
