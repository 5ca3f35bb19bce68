"""The orders-per-second throttle: sliding windows, driven by a time passed in, queuing rather
than dropping (indian-market.md §5.1, §5.3, §6.7; angel-one-smartapi.md §6.1).

Above the exchange threshold of 10 orders per second an algo must be registered; Angel One
allows 9 order actions per second (place, modify and cancel combined) per client code. Whether
modifications and cancellations count toward the exchange threshold is unconfirmed (§9), so
every order action goes through the throttle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from algo_trading.domain.errors import ConfigError

__all__ = [
    "ANGEL_ORDER_RATE_LIMITS",
    "DEFAULT_ORDERS_PER_SECOND",
    "EXCHANGE_OPS_THRESHOLD",
    "NS_PER_SECOND",
    "ClientThrottles",
    "OrderThrottle",
    "RateLimit",
    "ThrottledQueue",
]

NS_PER_SECOND = 1_000_000_000

EXCHANGE_OPS_THRESHOLD = 10
"""Orders per second per exchange segment above which an algo must be registered (§5.1)."""

DEFAULT_ORDERS_PER_SECOND = 9
"""Below the exchange threshold and within Angel One's 9/s combined order-action limit."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` admissions in any window of `window_ns` nanoseconds (sliding)."""

    count: int
    window_ns: int

    def __post_init__(self) -> None:
        if self.count <= 0 or self.window_ns <= 0:
            raise ConfigError(f"rate limit: {self.count} per {self.window_ns} ns must be positive")


ANGEL_ORDER_RATE_LIMITS = (
    RateLimit(9, NS_PER_SECOND),
    RateLimit(500, 60 * NS_PER_SECOND),
    RateLimit(1000, 3600 * NS_PER_SECOND),
)
"""placeOrder + modifyOrder + cancelOrder per client code (angel-one-smartapi.md §6.1)."""


class OrderThrottle:
    """Hands out send times so that no window holds more than its limit of order actions.

    `admit(now_ns)` reserves the earliest slot at or after `now_ns` and returns it: the caller
    sends then, or holds the order until then. Slots are handed out in call order, so a burst
    is spread out rather than dropped. Times are whatever clock the engine runs on; nothing
    here reads one.
    """

    def __init__(
        self,
        per_second: int = DEFAULT_ORDERS_PER_SECOND,
        *,
        extra_limits: Iterable[RateLimit] = (),
        registered_algo: bool = False,
    ) -> None:
        if per_second > EXCHANGE_OPS_THRESHOLD and not registered_algo:
            raise ConfigError(
                f"throttle: {per_second} orders/s is above the exchange threshold of "
                f"{EXCHANGE_OPS_THRESHOLD}; only a registered algo may go faster"
            )
        self.limits: tuple[RateLimit, ...] = (
            RateLimit(per_second, NS_PER_SECOND),
            *extra_limits,
        )
        # The last `count` slots handed out, per limit: enough to know when the window frees up.
        self._recent: tuple[deque[int], ...] = tuple(deque(maxlen=lim.count) for lim in self.limits)
        # (count, window, its recent slots) per limit: what `next_slot` walks, built once
        self._windows = tuple(
            (lim.count, lim.window_ns, recent)
            for lim, recent in zip(self.limits, self._recent, strict=True)
        )
        self._last_slot: int | None = None

    def next_slot(self, now_ns: int) -> int:
        """The slot `admit(now_ns)` would return, without reserving it."""
        last = self._last_slot
        slot = now_ns if last is None or last < now_ns else last
        for count, window_ns, recent in self._windows:
            if len(recent) == count:
                # The (count+1)-th action may go once the oldest of the last `count` has left
                # the window: windows are half-open, [t, t + window).
                free = recent[0] + window_ns
                if free > slot:
                    slot = free
        return slot

    def admit(self, now_ns: int) -> int:
        """Reserve and return the earliest send time at or after `now_ns`."""
        slot = self.next_slot(now_ns)
        for recent in self._recent:
            recent.append(slot)
        self._last_slot = slot
        return slot

    def admit_now(self, now_ns: int) -> bool:
        """Reserve `now_ns` and answer True when it is free; else reserve nothing and answer
        False (the caller holds the action). `next_slot` and `admit` in one pass."""
        last = self._last_slot
        if last is not None and last > now_ns:
            return False
        for count, window_ns, recent in self._windows:  # next_slot(now_ns) > now_ns, inlined
            if len(recent) == count and recent[0] + window_ns > now_ns:
                return False
        for recent in self._recent:
            recent.append(now_ns)
        self._last_slot = now_ns
        return True


T = TypeVar("T")


class ThrottledQueue(Generic[T]):
    """A FIFO in front of one throttle: `offer` queues an item, `release` returns the items whose
    send time has come. Nothing is ever dropped."""

    def __init__(self, throttle: OrderThrottle | None = None) -> None:
        self.throttle = throttle if throttle is not None else OrderThrottle()
        self._pending: deque[tuple[int, T]] = deque()

    def offer(self, item: T, now_ns: int) -> int:
        """Queue `item`; return the time at which `release` will hand it out."""
        slot = self.throttle.admit(now_ns)
        self._pending.append((slot, item))
        return slot

    def release(self, now_ns: int) -> list[T]:
        """The queued items due at or before `now_ns`, oldest first."""
        due: list[T] = []
        while self._pending and self._pending[0][0] <= now_ns:
            due.append(self._pending.popleft()[1])
        return due

    def next_release_ns(self) -> int | None:
        """When the next queued item falls due (for the engine's timer), or None if empty."""
        return self._pending[0][0] if self._pending else None

    def __len__(self) -> int:
        return len(self._pending)


class ClientThrottles:
    """One throttle per key (a client code, or a client and exchange segment), made on first use
    with the same settings: the limits are counted per client code (angel-one-smartapi.md §6.1)."""

    def __init__(
        self,
        per_second: int = DEFAULT_ORDERS_PER_SECOND,
        *,
        extra_limits: Iterable[RateLimit] = (),
        registered_algo: bool = False,
    ) -> None:
        self._per_second = per_second
        self._extra = tuple(extra_limits)
        self._registered = registered_algo
        # Build one now so a bad setting fails at start-up, not at the first order.
        OrderThrottle(per_second, extra_limits=self._extra, registered_algo=registered_algo)
        self._throttles: dict[Hashable, OrderThrottle] = {}

    def throttle(self, key: Hashable) -> OrderThrottle:
        found = self._throttles.get(key)
        if found is None:
            found = OrderThrottle(
                self._per_second, extra_limits=self._extra, registered_algo=self._registered
            )
            self._throttles[key] = found
        return found

    def admit(self, key: Hashable, now_ns: int) -> int:
        return self.throttle(key).admit(now_ns)
