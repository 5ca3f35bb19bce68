"""Pure timing rules of the adapter: when the session is renewed, how long a retry waits, how
the client paces a route, and how a candle span is cut into requests."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from algo_trading.adapters.brokers.angelone.auth import (
    next_midnight_ist_ns,
    refresh_due_ns,
    totp_at,
)
from algo_trading.adapters.brokers.angelone.config import ROUTES, LimitGroup
from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    BrokerUnavailableError,
    RateLimitedError,
)
from algo_trading.adapters.brokers.angelone.http import RouteLimiter, backoff_delay_s, is_retryable
from algo_trading.adapters.brokers.angelone.market_data import split_span
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.market.throttle import NS_PER_SECOND, RateLimit


def _ns(when: dt.datetime) -> int:
    return int(when.timestamp()) * NS_PER_SECOND


def test_a_session_ends_at_the_next_midnight_ist() -> None:
    at = _ns(dt.datetime(2025, 3, 4, 23, 59, tzinfo=IST))
    assert next_midnight_ist_ns(at) == _ns(dt.datetime(2025, 3, 5, 0, 0, tzinfo=IST))
    midnight = _ns(dt.datetime(2025, 3, 5, 0, 0, tzinfo=IST))
    assert next_midnight_ist_ns(midnight) == _ns(dt.datetime(2025, 3, 6, 0, 0, tzinfo=IST))


def test_renewal_is_due_the_margin_before_midnight() -> None:
    login = _ns(dt.datetime(2025, 3, 4, 9, 0, tzinfo=IST))
    assert refresh_due_ns(login, 300) == _ns(dt.datetime(2025, 3, 4, 23, 55, tzinfo=IST))


def test_a_login_inside_the_margin_is_renewed_at_midnight_not_at_once() -> None:
    login = _ns(dt.datetime(2025, 3, 4, 23, 57, tzinfo=IST))
    assert refresh_due_ns(login, 300) == _ns(dt.datetime(2025, 3, 5, 0, 0, tzinfo=IST))


def test_totp_follows_the_injected_clock_rfc6238_vector() -> None:
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890" at T=59 s: 94287082 (8 digits);
    # the 6-digit code is its last six digits.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # noqa: S105 - the RFC test key
    assert totp_at(secret, 59 * NS_PER_SECOND) == "287082"


def test_backoff_grows_exponentially_with_full_jitter_and_a_ceiling() -> None:
    rng = random.Random(1)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)):
        delays = [backoff_delay_s(attempt, 0.5, 8.0, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # the whole range is used, not a fixed value


def test_only_reads_are_retried_on_server_trouble_and_every_route_on_a_rate_limit() -> None:
    down = BrokerUnavailableError("x", code="TIMEOUT", route="r")
    limited = RateLimitedError("x", code="HTTP 403", route="r")
    refused = BrokerRejectedError("x", code="AB1008", route="r")
    assert is_retryable(ROUTES["order_book"], down)
    assert not is_retryable(ROUTES["place"], down)
    assert not is_retryable(ROUTES["cancel"], down)
    assert is_retryable(ROUTES["place"], limited)
    assert not is_retryable(ROUTES["order_book"], refused)


def test_the_limiter_spaces_calls_of_one_group_and_leaves_others_alone() -> None:
    now = [0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += int(s * NS_PER_SECOND)

    limiter = RouteLimiter(
        {
            LimitGroup.ORDER_BOOK: (RateLimit(1, NS_PER_SECOND),),
            LimitGroup.ORDERS: (RateLimit(9, NS_PER_SECOND),),
        },
        monotonic_ns=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(3):
        limiter.wait(LimitGroup.ORDER_BOOK)
    assert slept == [1.0, 1.0]
    for _ in range(9):
        limiter.wait(LimitGroup.ORDERS)
    assert slept == [1.0, 1.0]


def test_a_long_one_minute_span_is_cut_into_30_day_requests_that_do_not_overlap() -> None:
    start = dt.datetime(2025, 1, 1, 9, 15, tzinfo=IST)
    end = dt.datetime(2025, 3, 15, 15, 30, tzinfo=IST)
    pieces = split_span("ONE_MINUTE", start, end)
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    assert all(b - a <= dt.timedelta(days=30) for a, b in pieces)
    for (_, prev_end), (next_start, _) in itertools.pairwise(pieces):
        assert next_start == prev_end + dt.timedelta(minutes=1)
    assert len(pieces) == 3


@pytest.mark.parametrize(
    ("interval", "days", "requests"),
    [("ONE_DAY", 2000, 1), ("ONE_DAY", 2001, 2), ("ONE_HOUR", 401, 2), ("FIVE_MINUTE", 100, 1)],
)
def test_each_interval_has_its_own_maximum_span(interval: str, days: int, requests: int) -> None:
    start = dt.datetime(2018, 1, 1, 0, 0, tzinfo=IST)
    assert len(split_span(interval, start, start + dt.timedelta(days=days))) == requests


def test_a_span_with_an_unknown_interval_or_reversed_ends_is_refused() -> None:
    start = dt.datetime(2025, 1, 2, tzinfo=IST)
    with pytest.raises(ValueError, match="TWO_MINUTE"):
        split_span("TWO_MINUTE", start, start)
    with pytest.raises(ValueError, match="before"):
        split_span("ONE_DAY", start, start - dt.timedelta(days=1))


def test_a_short_totp_secret_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as info:
        totp_at("JBSWY3DP", 0)
    assert "JBSWY3DP" not in str(info.value)
