"""The Redis cache through an outage of its own server (a private redis-server on a free port,
killed with SIGKILL and started again): reads miss and writes drop, never raise; the outage is
counted once however many calls fail, and the cache is used again when Redis is back."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from algo_trading.adapters.cache import CacheTtl
from algo_trading.adapters.cache.redis import RedisCache
from algo_trading.domain.errors import CacheUnavailableError, ConfigError
from algo_trading.engine.ports import CacheKind
from tests.support.redis_servers import private_redis


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_an_outage_degrades_to_misses_warns_once_and_recovers(tmp_path: Path) -> None:
    clock = Clock()
    registry = CollectorRegistry()
    with private_redis(tmp_path) as server:
        cache = RedisCache(server.url, CacheTtl(), registry=registry, monotonic=clock)
        cache.put(CacheKind.QUOTE, "a", b"1")
        assert cache.get(CacheKind.QUOTE, "a") == b"1"

        server.kill()
        for _ in range(5):
            assert cache.get(CacheKind.QUOTE, "a") is None
            assert cache.get_many(CacheKind.QUOTE, ["a", "b"]) == [None, None]
            cache.put(CacheKind.QUOTE, "a", b"2")
            cache.put_many(CacheKind.QUOTE, {"a": b"2"})
        assert not cache.available
        assert cache.outages == 1
        assert _metric(registry, "algo_cache_up") == 0
        assert _metric(registry, "algo_cache_failures_total", op="get") == 1
        assert _metric(registry, "algo_cache_skipped_total", op="get") == 4
        with pytest.raises(CacheUnavailableError, match="unreachable"):
            cache.check()

        server.start()
        clock.t += 5  # past retry_after_s: the next call tries Redis again
        cache.put(CacheKind.QUOTE, "a", b"3")
        assert cache.available
        assert cache.get(CacheKind.QUOTE, "a") == b"3"
        assert _metric(registry, "algo_cache_up") == 1

        server.kill()  # a second outage warns (counts) again, once
        clock.t += 5
        assert cache.get(CacheKind.QUOTE, "a") is None
        assert cache.get(CacheKind.QUOTE, "a") is None
        assert cache.outages == 2
        cache.close()


def test_a_url_that_is_not_redis_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ALGO_REDIS_URL"):
        RedisCache("http://127.0.0.1:6379")
