"""The REST transport: one httpx client, client-side rate limits per route group (§6.1), the
headers of §1.2, retries with exponential backoff and full jitter for reads only.

A write (place, modify, cancel, convert, GTT writes, login) is sent once: an answer lost to a
timeout may still have taken effect, and only the caller knows how to find out (an order is
looked up by its tag, `execution.py`). The one exception is the HTTP 403 rate-limit answer,
which refuses the request before it does anything (§1.7 shape 3, §6.1), so it is backed off
and sent again for every route.

Timeouts, dropped connections and 5xx answers become `BrokerUnavailableError`; everything the
server says is typed by `parsing.parse_envelope`. Logs carry the route, the attempt and Angel's
code — never a header, a body or a token.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from algo_trading.adapters.brokers.angelone.config import AngelOneConfig, LimitGroup, Route
from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    BrokerUnavailableError,
    RateLimitedError,
)
from algo_trading.adapters.brokers.angelone.parsing import parse_envelope
from algo_trading.market.throttle import NS_PER_SECOND, OrderThrottle, RateLimit

__all__ = [
    "AngelOneHttp",
    "RouteLimiter",
    "backoff_delay_s",
    "base_headers",
    "is_retryable",
    "iter_backoff",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
MonotonicNs = Callable[[], int]


class RouteLimiter:
    """One sliding-window throttle per route group, shared by every thread of the process:
    `wait(group)` blocks (through the injected `sleep`) until a call may go."""

    def __init__(
        self,
        limits: Mapping[LimitGroup, tuple[RateLimit, ...]],
        *,
        monotonic_ns: MonotonicNs = time.monotonic_ns,
        sleep: Sleep = time.sleep,
        guard_ns: int = 0,
    ) -> None:
        self._throttles: dict[LimitGroup, OrderThrottle] = {}
        for group, rules in limits.items():
            first, *rest = rules
            if first.window_ns != NS_PER_SECOND:
                raise ValueError(f"rate limit of {group}: the first rule must be per second")
            # The server counts arrivals, we count departures: every window is widened by
            # `guard_ns` so that network jitter cannot squeeze two calls into one window.
            widened = [RateLimit(r.count, r.window_ns + guard_ns) for r in rest]
            if guard_ns:
                widened.insert(0, RateLimit(first.count, first.window_ns + guard_ns))
            # `registered_algo` only lifts OrderThrottle's exchange-threshold guard, which is
            # about order actions; these are HTTP budgets.
            self._throttles[group] = OrderThrottle(
                first.count, extra_limits=widened, registered_algo=True
            )
        self._now = monotonic_ns
        self._sleep = sleep
        self._lock = threading.Lock()

    def reserve(self, group: LimitGroup) -> float:
        """Reserve the next slot of `group`; the seconds to wait before using it."""
        with self._lock:
            now = self._now()
            slot = self._throttles[group].admit(now)
        return max(0, slot - now) / NS_PER_SECOND

    def wait(self, group: LimitGroup) -> None:
        delay = self.reserve(group)
        if delay > 0:
            self._sleep(delay)


def backoff_delay_s(attempt: int, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, initial × 2^(attempt-1))].
    Full jitter spreads the retries of many clients hit by one outage."""
    ceiling = min(max_s, initial_s * (2 ** max(0, attempt - 1)))
    return rng.uniform(0.0, ceiling)


def is_retryable(route: Route, exc: BaseException) -> bool:
    """Reads are retried on server trouble and rate limits; writes only on the 403 refusal."""
    if isinstance(exc, RateLimitedError):
        return True
    return route.read and isinstance(exc, BrokerUnavailableError)


def base_headers(config: AngelOneConfig, api_key: str) -> dict[str, str]:
    """The headers of every REST call except Authorization (§1.2)."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-UserType": "USER",
        "X-SourceID": "WEB",
        "X-ClientLocalIP": config.local_ip,
        "X-ClientPublicIP": config.public_ip,
        "X-MACAddress": config.mac_address,
        "X-PrivateKey": api_key,
    }


class AngelOneHttp:
    """Sends one route with the headers given, paced by the route limits, and returns the
    envelope's `data` (or raises the typed error). Close it (or use `with`) when done."""

    def __init__(
        self,
        config: AngelOneConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        monotonic_ns: MonotonicNs = time.monotonic_ns,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = httpx.Client(
            base_url=config.rest_base_url, timeout=timeout, transport=transport
        )
        self.limiter = RouteLimiter(
            config.rate_limits,
            monotonic_ns=monotonic_ns,
            sleep=sleep,
            guard_ns=config.rate_guard_ms * 1_000_000,
        )
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self.attempts = 0  # requests sent (health figures; tests check what was not re-sent)
        self.retries = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AngelOneHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        route: Route,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        path_suffix: str = "",
    ) -> Any:
        """`route`'s `data`, retried as `is_retryable` allows."""
        retrying = Retrying(
            stop=stop_after_attempt(self.config.retry_attempts),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception(lambda e: is_retryable(route, e)),
            before_sleep=lambda state: _log_retry(route, state),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self.send_once(route, headers=headers, body=body, path_suffix=path_suffix)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        self.retries += 1
        return backoff_delay_s(
            state.attempt_number, self.config.retry_initial_s, self.config.retry_max_s, self._rng
        )

    def send_once(
        self,
        route: Route,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        path_suffix: str = "",
    ) -> Any:
        """One paced attempt, no retry: for the callers that decide themselves (placeOrder)."""
        self.limiter.wait(route.group)
        self.attempts += 1
        try:
            response = self._client.request(
                route.method,
                route.path + path_suffix,
                headers=dict(headers),
                json=dict(body) if body is not None and route.method == "POST" else None,
            )
        except httpx.TimeoutException:
            raise BrokerUnavailableError(
                f"no answer within {self.config.timeout_s} s", code="TIMEOUT", route=route.path
            ) from None
        except httpx.TransportError as exc:
            raise BrokerUnavailableError(
                f"connection failed ({type(exc).__name__})", code="NETWORK", route=route.path
            ) from None
        return parse_envelope(route.path, response.status_code, response.content)

    def get_bytes(self, url: str, *, timeout_s: float) -> bytes:
        """A plain unauthenticated GET (the instrument master, §4), retried like a read."""
        route = Route("download", "GET", url, LimitGroup.SEARCH, read=True, authenticated=False)

        def once() -> bytes:
            try:
                response = self._client.get(url, timeout=timeout_s)
            except httpx.TimeoutException:
                raise BrokerUnavailableError(
                    "download timed out", code="TIMEOUT", route=url
                ) from None
            except httpx.TransportError as exc:
                raise BrokerUnavailableError(
                    f"download failed ({type(exc).__name__})", code="NETWORK", route=url
                ) from None
            if response.status_code != 200:
                raise BrokerUnavailableError(
                    "download refused", code=f"HTTP {response.status_code}", route=url
                )
            return response.content

        for attempt in Retrying(
            stop=stop_after_attempt(self.config.retry_attempts),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception(lambda e: is_retryable(route, e)),
            reraise=True,
        ):
            with attempt:
                return once()
        raise AssertionError("unreachable")  # pragma: no cover


def _log_retry(route: Route, state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    code = exc.code if isinstance(exc, AngelOneError) else type(exc).__name__
    log.warning(
        "angelone %s failed (%s), retry %d",
        route.name,
        code,
        state.attempt_number,
        extra={"route": route.name, "attempt": state.attempt_number, "code": code},
    )


def iter_backoff(initial_s: float, max_s: float, rng: random.Random) -> Iterator[float]:
    """An endless backoff schedule (the WebSocket reconnects use it)."""
    attempt = 1
    while True:
        yield backoff_delay_s(attempt, initial_s, max_s, rng)
        attempt += 1
