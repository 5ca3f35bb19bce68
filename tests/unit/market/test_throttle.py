"""The orders-per-second throttle: sliding windows, queuing, times passed in (issue #3 point 6;
indian-market.md §5.1, §5.3; angel-one-smartapi.md §6.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.errors import ConfigError
from algo_trading.market.throttle import (
    ANGEL_ORDER_RATE_LIMITS,
    DEFAULT_ORDERS_PER_SECOND,
    EXCHANGE_OPS_THRESHOLD,
    NS_PER_SECOND,
    ClientThrottles,
    OrderThrottle,
    RateLimit,
    ThrottledQueue,
)

S = NS_PER_SECOND
T0 = 1_795_000_000 * S  # any epoch time; nothing here reads a clock


def max_in_any_window(slots: list[int], window_ns: int) -> int:
    """The most slots inside any half-open window [t, t + window_ns)."""
    ordered = sorted(slots)
    best, start = 0, 0
    for end, slot in enumerate(ordered):
        while slot - ordered[start] >= window_ns:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_the_default_is_below_the_exchange_threshold_and_within_angels_limit() -> None:
    assert DEFAULT_ORDERS_PER_SECOND < EXCHANGE_OPS_THRESHOLD
    assert ANGEL_ORDER_RATE_LIMITS[0].count >= DEFAULT_ORDERS_PER_SECOND
    assert OrderThrottle().limits[0] == RateLimit(DEFAULT_ORDERS_PER_SECOND, S)


def test_a_burst_goes_out_up_to_the_limit_and_the_rest_waits_a_second() -> None:
    throttle = OrderThrottle(9)
    slots = [throttle.admit(T0) for _ in range(20)]
    assert slots[:9] == [T0] * 9
    assert slots[9:18] == [T0 + S] * 9
    assert slots[18:] == [T0 + 2 * S] * 2


def test_the_window_slides_rather_than_resetting_on_the_second() -> None:
    # 9 orders late in one second do not let 9 more through at the start of the next.
    throttle = OrderThrottle(9)
    late = T0 + 900_000_000
    for _ in range(9):
        assert throttle.admit(late) == late
    assert throttle.admit(T0 + S) == late + S


def test_an_order_after_a_quiet_second_goes_at_once() -> None:
    throttle = OrderThrottle(2)
    throttle.admit(T0)
    throttle.admit(T0)
    assert throttle.admit(T0 + 5 * S) == T0 + 5 * S


def test_next_slot_peeks_without_reserving() -> None:
    throttle = OrderThrottle(1)
    throttle.admit(T0)
    assert throttle.next_slot(T0) == T0 + S
    assert throttle.next_slot(T0) == T0 + S
    assert throttle.admit(T0) == T0 + S


def test_slots_are_never_handed_out_of_call_order() -> None:
    throttle = OrderThrottle(1)
    first = throttle.admit(T0 + 10 * S)
    assert throttle.admit(T0) > first  # a caller whose clock lags still queues behind


def test_going_above_the_exchange_threshold_needs_a_registered_algo() -> None:
    with pytest.raises(ConfigError) as info:
        OrderThrottle(11)
    assert "registered" in str(info.value)
    assert OrderThrottle(20, registered_algo=True).admit(T0) == T0
    assert OrderThrottle(EXCHANGE_OPS_THRESHOLD).admit(T0) == T0


@pytest.mark.parametrize("per_second", [0, -1])
def test_a_non_positive_limit_is_refused(per_second: int) -> None:
    with pytest.raises(ConfigError):
        OrderThrottle(per_second)


def test_angels_per_minute_limit_holds_a_long_burst() -> None:
    throttle = OrderThrottle(9, extra_limits=ANGEL_ORDER_RATE_LIMITS[1:])
    slots = [throttle.admit(T0) for _ in range(501)]
    assert max_in_any_window(slots, 60 * S) == 500
    assert slots[-1] == slots[0] + 60 * S


def test_the_queue_releases_items_in_order_when_their_time_comes() -> None:
    queue: ThrottledQueue[str] = ThrottledQueue(OrderThrottle(2))
    for name in ("a", "b", "c", "d", "e"):
        queue.offer(name, T0)
    assert queue.release(T0) == ["a", "b"]
    assert queue.next_release_ns() == T0 + S
    assert queue.release(T0 + S - 1) == []
    assert queue.release(T0 + S) == ["c", "d"]
    assert len(queue) == 1
    assert queue.release(T0 + 10 * S) == ["e"]
    assert queue.next_release_ns() is None


def test_each_client_has_its_own_throttle() -> None:
    throttles = ClientThrottles(1)
    assert throttles.admit("A123", T0) == T0
    assert throttles.admit("B456", T0) == T0
    assert throttles.admit("A123", T0) == T0 + S


def test_client_throttles_refuse_a_bad_setting_at_once() -> None:
    with pytest.raises(ConfigError):
        ClientThrottles(50)


@given(
    limit=st.integers(min_value=1, max_value=10),
    gaps=st.lists(st.integers(min_value=0, max_value=400_000_000), min_size=1, max_size=120),
)
def test_the_throttle_never_lets_more_than_the_limit_through_in_any_one_second_window(
    limit: int, gaps: list[int]
) -> None:
    throttle = OrderThrottle(limit)
    now = T0
    slots = []
    for gap in gaps:
        now += gap
        slot = throttle.admit(now)
        assert slot >= now  # queued, never sent early and never dropped
        slots.append(slot)
    assert len(slots) == len(gaps)
    assert max_in_any_window(slots, S) <= limit
    assert slots == sorted(slots)


@given(
    limit=st.integers(min_value=1, max_value=10),
    gaps=st.lists(st.integers(min_value=0, max_value=300_000_000), min_size=1, max_size=80),
)
def test_the_queue_releases_everything_offered_and_never_too_fast(
    limit: int, gaps: list[int]
) -> None:
    # The engine's timer fires at each `next_release_ns`, as it would in any mode.
    queue: ThrottledQueue[int] = ThrottledQueue(OrderThrottle(limit))
    released: list[tuple[int, int]] = []

    def fire_timers(until: int) -> None:
        while (due := queue.next_release_ns()) is not None and due <= until:
            released.extend((due, x) for x in queue.release(due))

    now = T0
    for item, gap in enumerate(gaps):
        now += gap
        fire_timers(now)
        assert queue.offer(item, now) >= now
    fire_timers(now + len(gaps) * S)
    assert [x for _, x in released] == list(range(len(gaps)))
    assert len(queue) == 0
    assert max_in_any_window([t for t, _ in released], S) <= limit
