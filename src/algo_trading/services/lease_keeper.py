"""Which strategies this instance runs (issue #10, item 10): one lease per strategy, kept.

`LeaseKeeper.tick()` is one pass: renew every lease held, give up (and say so) any that could
not be renewed, and try to take every configured strategy nobody holds, or whose holder let
its lease expire. Run it every `renew_every_s` (`start()` does, on its own thread) and the
timing is: a live instance renews a 10 s lease every 2 s, so a dead instance's strategies are
free 10 s after its last renewal at most and taken at the next pass of a live one, 12 s at
most, well inside the 30 s the issue asks. A renewal can be missed four times in a row (a
slow database) before the lease is lost.

Ownership is judged by this process's clock as well as the database's: `owns()` and `token()`
say no once the lease's end has passed by this clock, less a margin, even before a pass has
found it lost (a process paused by SIGSTOP wakes up believing nothing happened). The fence
of migration 0005 is the last word either way: `token` is the `fence` for
`SqlTradeLog(fence=keeper.token)`, and the database refuses an intent from a stale epoch.

The trading service takes leases with `tick()` on its loop (what it gains is recovered there,
before trading) and renews what it holds on a thread of its own (`start_renewing()`), so a
loop busy for seconds never lets its leases run out.

Callbacks: `on_gained(strategy_id, token)` when a lease is taken: the service must reconcile
that strategy (`Recovery.recover([strategy_id])`) before trading it; if it raises, the lease
is released again so another instance can try. `on_lost(strategy_id, why)` when a lease is
lost: stop trading it at once. Both run on the thread that calls `tick()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from algo_trading.domain.errors import AlgoTradingError, ConfigError
from algo_trading.engine.ports import Clock, Lease, Leases, LeaseToken

__all__ = ["LeaseConfig", "LeaseKeeper"]

log = logging.getLogger(__name__)

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """A lease's time to live and how often it is renewed. Takeover of a dead instance's
    strategies takes at most `ttl_s + renew_every_s`; keep it under 30 s (issue #10)."""

    ttl_s: float = 10.0
    renew_every_s: float = 2.0
    # `owns()` says no this long before the lease's end by our clock: the fence's margin for
    # the time between the check and the intent's commit.
    safety_margin_s: float = 1.0
    # A fair share: beyond `max_owned` strategies an instance takes one only once it has
    # been free for `overflow_grace_s`, so instances under their share take it first and
    # several instances spread the strategies, while a survivor still takes everything
    # when the others are gone. None: take whatever is free.
    max_owned: int | None = None
    overflow_grace_s: float = 3.0

    def __post_init__(self) -> None:
        if self.renew_every_s <= 0 or self.ttl_s <= 0:
            raise ConfigError("lease: ttl_s and renew_every_s must be positive")
        if self.renew_every_s * 2 > self.ttl_s:
            raise ConfigError(
                f"lease: renew_every_s={self.renew_every_s} must be at most half of "
                f"ttl_s={self.ttl_s}, or one slow renewal loses the lease"
            )
        if self.max_owned is not None and self.max_owned < 1:
            raise ConfigError(f"lease: max_owned={self.max_owned} must be at least 1")
        if self.overflow_grace_s < 0:
            raise ConfigError("lease: overflow_grace_s must be >= 0")
        if not 0 <= self.safety_margin_s < self.ttl_s - self.renew_every_s:
            raise ConfigError(
                f"lease: safety_margin_s={self.safety_margin_s} must be below "
                f"ttl_s - renew_every_s = {self.ttl_s - self.renew_every_s}"
            )

    @classmethod
    def from_ttl(
        cls, ttl_s: float, *, max_owned: int = 0, overflow_grace_s: float = 3.0
    ) -> LeaseConfig:
        """The settings' choice (ALGO_LEASE_*): renewed every fifth of the time to live;
        `max_owned` 0 means no share."""
        return cls(
            ttl_s=ttl_s,
            renew_every_s=ttl_s / 5,
            max_owned=max_owned or None,
            overflow_grace_s=overflow_grace_s,
        )

    @property
    def takeover_s(self) -> float:
        """The longest a dead instance's strategy waits for a new owner (an instance over
        its share waits the grace besides, and its next pass)."""
        extra = 0.0 if self.max_owned is None else self.overflow_grace_s + self.renew_every_s
        return self.ttl_s + self.renew_every_s + extra


GainedCallback = Callable[[str, LeaseToken], None]
GainedBatchCallback = Callable[[dict[str, LeaseToken]], None]
LostCallback = Callable[[str, str], None]


def _nothing(*_args: object) -> None:
    return None


class LeaseKeeper:
    """Holds this instance's share of the configured strategies' leases."""

    def __init__(
        self,
        leases: Leases,
        owner: str,
        strategies: Sequence[str],
        clock: Clock,
        *,
        config: LeaseConfig | None = None,
        on_gained: GainedCallback = _nothing,
        on_lost: LostCallback = _nothing,
        on_gained_batch: GainedBatchCallback | None = None,
    ) -> None:
        if len(set(strategies)) != len(strategies):
            raise ConfigError(f"lease keeper: strategy ids repeat in {list(strategies)}")
        self._leases = leases
        self.owner = owner
        self.strategies = tuple(strategies)
        self._clock = clock
        self.config = config or LeaseConfig()
        self._on_gained = on_gained
        self._on_lost = on_lost
        self._on_gained_batch = on_gained_batch
        self._held: dict[str, Lease] = {}
        self._lock = threading.RLock()  # tick() on the keeper's thread, owns() on the engine's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewer: threading.Thread | None = None
        self._ttl_ns = int(self.config.ttl_s * NS)
        self._margin_ns = int(self.config.safety_margin_s * NS)
        self._grace_ns = int(self.config.overflow_grace_s * NS)
        self._started_ns = clock.now_ns()
        self.last_ok_ns: int | None = None  # the end of the last pass without a database error

    # --- what the service asks --------------------------------------------------------------
    def owns(self, strategy_id: str) -> bool:
        return self.token(strategy_id) is not None

    def token(self, strategy_id: str) -> LeaseToken | None:
        """The lease term an intent for this strategy carries (the trade log's fence), or
        None when this instance does not hold it, or its lease is about to end by our clock."""
        lease = self._held.get(strategy_id)
        if lease is None or self._clock.now_ns() >= lease.expires_ns - self._margin_ns:
            return None
        return lease.token()

    def epoch(self, strategy_id: str) -> int | None:
        token = self.token(strategy_id)
        return None if token is None else token.epoch

    def healthy(self) -> bool:
        """Whether a pass reached the database within two renewal periods."""
        window = 2 * int(self.config.renew_every_s * NS)
        return self.last_ok_ns is not None and self._clock.now_ns() - self.last_ok_ns <= window

    def owned(self) -> list[str]:
        """The strategies this instance may trade now."""
        return [s for s in self.strategies if self.owns(s)]

    # --- keeping them -------------------------------------------------------------------------
    def tick(self) -> None:
        """One pass: renew what is held, drop what was lost, take what is free. A database
        that cannot be reached leaves the leases to run out by our clock (`owns()` says no
        then), never raises."""
        with self._lock:
            failed = False
            gained: dict[str, Lease] = {}
            for strategy_id in self.strategies:
                if self._stop.is_set() and self._thread is not None:
                    break
                try:
                    if strategy_id in self._held:
                        self._renew(strategy_id)
                    elif (lease := self._acquire(strategy_id)) is not None:
                        gained[strategy_id] = lease
                except AlgoTradingError as exc:
                    log.warning(
                        "lease of %s: %s", strategy_id, exc, extra={"strategy": strategy_id}
                    )
                    self._expire_if_past(strategy_id)
                    failed = True
            if not failed:
                self.last_ok_ns = self._clock.now_ns()
        # Outside the lock: the service's recovery of what was gained may take seconds (the
        # broker's books under their rate limits), and the renewer must not wait for it.
        if gained:
            self._announce(gained)

    def renew_held(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Renew every lease held, and only that (the renewer thread's pass): taking new
        leases, and the service's work on them, stay on the service's own thread. Nothing is
        renewed while `alive()` says the service's thread is stuck: its leases run out and
        another instance takes the strategies, as if this one were dead."""
        if not alive():
            log.warning("lease renewals held back: the service's loop has not turned lately")
            return
        with self._lock:
            failed = False
            for strategy_id in list(self._held):
                try:
                    if strategy_id in self._held:
                        self._renew(strategy_id)
                except AlgoTradingError as exc:
                    log.warning(
                        "lease of %s: %s", strategy_id, exc, extra={"strategy": strategy_id}
                    )
                    self._expire_if_past(strategy_id)
                    failed = True
            if not failed:
                self.last_ok_ns = self._clock.now_ns()

    def start_renewing(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Renew the leases held on a thread of their own, every `renew_every_s`, so a
        service thread busy for a few seconds (a takeover's recovery, a slow broker) never
        lets its leases run out; `tick()` (taking new ones) stays the service's. `alive()`:
        whether that thread still turns (a hung one must not keep its strategies)."""
        if self._renewer is not None:
            return
        self._renewer = threading.Thread(
            target=self._renew_loop, args=(alive,), name="lease-renewer", daemon=True
        )
        self._renewer.start()

    def _renew_loop(self, alive: Callable[[], bool]) -> None:
        while not self._stop.wait(self.config.renew_every_s):
            try:
                self.renew_held(alive)
            except Exception:  # the thread must outlive any one pass
                log.exception("lease renewal pass failed")

    def _renew(self, strategy_id: str) -> None:
        lease = self._held[strategy_id]
        renewed = self._leases.renew(strategy_id, lease.token(), self._ttl_ns, self._clock.now_ns())
        if renewed is None:
            self._lose(strategy_id, f"not renewed (epoch {lease.epoch} expired or taken over)")
        else:
            self._held[strategy_id] = renewed

    def _over_share(self, strategy_id: str, now: int) -> bool:
        """Whether this instance holds its share already and the strategy has not been free
        long enough for an instance over its share to take it."""
        cap = self.config.max_owned
        if cap is None or len(self._held) < cap:
            return False
        lease = self._leases.get(strategy_id)
        if lease is not None and lease.owner is not None and lease.expires_ns > now:
            return True  # held: acquire would say no anyway
        # free since it expired or was released; never leased: since this keeper started
        free_since = self._started_ns if lease is None else lease.expires_ns
        return now - free_since < self._grace_ns

    def _acquire(self, strategy_id: str) -> Lease | None:
        if self._over_share(strategy_id, self._clock.now_ns()):
            return None
        lease = self._leases.acquire(strategy_id, self.owner, self._ttl_ns, self._clock.now_ns())
        if lease is None:
            return None  # another instance holds it
        self._held[strategy_id] = lease
        log.info(
            "lease of %s taken, epoch %d",
            strategy_id,
            lease.epoch,
            extra={"strategy": strategy_id},
        )
        return lease

    def _announce(self, gained: dict[str, Lease]) -> None:
        """The pass's new leases to the service: all at once with `on_gained_batch` (one
        reconciliation for all of them: the broker's books are read once, not once per
        strategy under their rate limit), else one by one. What the service could not make
        ready is released again, so another instance can try."""
        if self._on_gained_batch is not None:
            try:
                self._on_gained_batch({s: lease.token() for s, lease in gained.items()})
            except Exception as exc:
                log.exception(
                    "leases of %s: not ready to trade them (%s); releasing", ", ".join(gained), exc
                )
                with self._lock:
                    for strategy_id in gained:
                        self._release(strategy_id)
            return
        for strategy_id, lease in gained.items():
            try:
                self._on_gained(strategy_id, lease.token())
            except Exception as exc:  # the service could not make it ready: let another try
                log.exception(
                    "lease of %s: not ready to trade it (%s); releasing",
                    strategy_id,
                    exc,
                    extra={"strategy": strategy_id},
                )
                with self._lock:
                    self._release(strategy_id)

    def _expire_if_past(self, strategy_id: str) -> None:
        lease = self._held.get(strategy_id)
        if lease is not None and self._clock.now_ns() >= lease.expires_ns - self._margin_ns:
            self._lose(strategy_id, f"could not be renewed before it ran out (epoch {lease.epoch})")

    def _lose(self, strategy_id: str, why: str) -> None:
        self._held.pop(strategy_id, None)
        log.warning("lease of %s lost: %s", strategy_id, why, extra={"strategy": strategy_id})
        self._on_lost(strategy_id, why)

    def _release(self, strategy_id: str) -> bool:
        lease = self._held.pop(strategy_id, None)
        if lease is None:
            return False
        try:
            return self._leases.release(strategy_id, lease.token(), self._clock.now_ns())
        except AlgoTradingError as exc:  # it runs out by itself
            log.warning("lease of %s not released: %s", strategy_id, exc)
            return False

    # --- its own thread -----------------------------------------------------------------------
    def start(self) -> None:
        """Take what can be taken now, then keep the leases on a thread of its own."""
        if self._thread is not None:
            return
        self.tick()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.config.renew_every_s):
            self.tick()

    def stop(self, *, release: bool = True) -> list[str]:
        """Stop keeping leases; release every one held (a draining instance), so another
        instance takes them at its next pass rather than after the time to live. Returns
        the strategies released."""
        self._stop.set()
        for thread in (self._thread, self._renewer):
            if thread is not None:
                thread.join(timeout=self.config.renew_every_s + 5)
        released = []
        with self._lock:
            for strategy_id in list(self._held):
                if not release:
                    self._held.pop(strategy_id)
                elif self._release(strategy_id):
                    released.append(strategy_id)
        return released
