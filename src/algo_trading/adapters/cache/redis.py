"""The Redis cache (redis-py), used when ALGO_REDIS_URL is set.

An outage never reaches the caller: a failed call logs ONE warning (until Redis is back),
counts in `algo_cache_failures_total`, and answers a miss (reads) or drops the value
(writes), so the caller reads the source directly. While Redis is down it is tried again
at most every `retry_after_s` (the others skip it without waiting for a timeout); the first
call that works logs the recovery and the next outage warns again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from algo_trading.adapters.cache.ttl import CacheTtl
from algo_trading.domain.errors import CacheUnavailableError, ConfigError
from algo_trading.engine.ports import CacheKind

__all__ = ["RedisCache", "describe_redis_url"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe_redis_url(url: str) -> str:
    """host:port/db of a redis:// URL, never its password."""
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    return f"redis://{parts.hostname or '?'}:{parts.port or 6379}/{db}"


class RedisCache:
    """The Cache port on Redis: `SET key value PX ttl`, MGET for batches, a non-transactional
    pipeline for batched writes. Keys are `<prefix><kind>:<key>`."""

    def __init__(
        self,
        url: str,
        ttl: CacheTtl | None = None,
        *,
        prefix: str = "algo:",
        registry: CollectorRegistry | None = None,
        retry_after_s: float = 1.0,
        timeout_s: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"ALGO_REDIS_URL: {describe_redis_url(url)} is not a redis:// or rediss:// URL"
            )
        self.description = describe_redis_url(url)
        self._ttl = ttl or CacheTtl()
        self.prefix = prefix
        self._retry_after_s = retry_after_s
        self._now = monotonic
        # Our own outage handling: the client must fail fast, not retry for seconds.
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._lock = threading.Lock()
        self._down = False
        self._next_try = 0.0
        r = registry if registry is not None else CollectorRegistry()
        self._failures = Counter(
            "algo_cache_failures", "Cache calls that failed (Redis unreachable)", ["op"], registry=r
        )
        self._skipped = Counter(
            "algo_cache_skipped", "Cache calls skipped while Redis is down", ["op"], registry=r
        )
        self._up = Gauge(
            "algo_cache_up", "1 while the cache answers, 0 during an outage", [], registry=r
        )
        self._up.set(1)
        self.outages = 0  # times a working cache was found down (one warning each)

    @property
    def available(self) -> bool:
        return not self._down

    def check(self) -> None:
        """Raise CacheUnavailableError (one line) unless Redis answers a PING now."""
        try:
            self._client.ping()
        except RedisError as exc:
            raise CacheUnavailableError(
                f"cache {self.description} is unreachable ({type(exc).__name__}); "
                "start Redis or fix ALGO_REDIS_URL"
            ) from None

    def close(self) -> None:
        self._client.close()

    def _key(self, kind: CacheKind, key: str) -> str:
        return f"{self.prefix}{kind.value}:{key}"

    def get(self, kind: CacheKind, key: str) -> bytes | None:
        value = self._call("get", lambda: self._client.get(self._key(kind, key)), None)
        return value if isinstance(value, bytes) else None

    def get_many(self, kind: CacheKind, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [self._key(kind, k) for k in keys]
        values: list[Any] | None = self._call("mget", lambda: self._client.mget(names), None)
        if values is None:
            return [None] * len(keys)
        return [v if isinstance(v, bytes) else None for v in values]

    def put(self, kind: CacheKind, key: str, value: bytes) -> None:
        ms = int(self._ttl.of(kind) * 1000)
        self._call("set", lambda: self._client.set(self._key(kind, key), value, px=ms), None)

    def put_many(self, kind: CacheKind, items: Mapping[str, bytes]) -> None:
        if not items:
            return
        ms = int(self._ttl.of(kind) * 1000)

        def write() -> None:
            pipe = self._client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(self._key(kind, key), value, px=ms)
            pipe.execute()

        self._call("pipeline", write, None)

    def delete(self, kind: CacheKind, key: str) -> None:
        self._call("delete", lambda: self._client.delete(self._key(kind, key)), None)

    def _call(self, op: str, action: Callable[[], T], default: T) -> T:
        if self._down and self._now() < self._next_try:
            self._skipped.labels(op).inc()
            return default
        try:
            result = action()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._failed(op, exc)
            return default
        except RedisError as exc:  # a refused command (OOM, READONLY replica): same outcome
            self._failed(op, exc)
            return default
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    self._up.set(1)
                    log.info("cache %s is back; using it again", self.description)
        return result

    def _failed(self, op: str, exc: BaseException) -> None:
        self._failures.labels(op).inc()
        with self._lock:
            self._next_try = self._now() + self._retry_after_s
            if self._down:
                return
            self._down = True
            self.outages += 1
            self._up.set(0)
        log.warning(
            "cache %s unreachable (%s); reading sources directly until it is back",
            self.description,
            type(exc).__name__,
        )
