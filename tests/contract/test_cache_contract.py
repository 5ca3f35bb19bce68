"""The Cache port (engine/ports.py), one suite for every implementation: the in-process cache
and Redis (the shared server on 127.0.0.1:6379, under a key prefix unique to the test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from algo_trading.adapters.cache import CacheTtl, MemoryCache
from algo_trading.adapters.cache.redis import RedisCache
from algo_trading.engine.ports import Cache, CacheKind
from tests.support.redis_servers import shared_redis_url, unique_prefix

MakeCache = Callable[[CacheTtl], Cache]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
def make_cache(request: pytest.FixtureRequest) -> Iterator[MakeCache]:
    made: list[RedisCache] = []

    def make(ttl: CacheTtl) -> Cache:
        if request.param == "memory":
            return MemoryCache(ttl)
        cache = RedisCache(shared_redis_url(), ttl, prefix=unique_prefix())
        made.append(cache)
        return cache

    yield make
    if made:  # the shared server: remove exactly this test's keys
        import redis

        raw = redis.Redis.from_url(shared_redis_url())
        for cache in made:
            for key in raw.scan_iter(match=f"{cache.prefix}*"):
                raw.delete(key)
            cache.close()
        raw.close()


def test_a_value_put_is_read_back_and_a_missing_key_is_none(make_cache: MakeCache) -> None:
    cache = make_cache(CacheTtl())
    cache.put(CacheKind.QUOTE, "NSE:3045", b'{"ltp":1}')
    assert cache.get(CacheKind.QUOTE, "NSE:3045") == b'{"ltp":1}'
    assert cache.get(CacheKind.QUOTE, "NSE:9999") is None
    assert cache.available


def test_kinds_are_separate_namespaces(make_cache: MakeCache) -> None:
    cache = make_cache(CacheTtl())
    cache.put(CacheKind.QUOTE, "k", b"quote")
    cache.put(CacheKind.CANDLE, "k", b"candle")
    assert cache.get(CacheKind.QUOTE, "k") == b"quote"
    assert cache.get(CacheKind.CANDLE, "k") == b"candle"
    assert cache.get(CacheKind.INSTRUMENTS, "k") is None


def test_batches_answer_one_value_per_key_in_order(make_cache: MakeCache) -> None:
    cache = make_cache(CacheTtl())
    cache.put_many(CacheKind.CANDLE, {f"t{i}": str(i).encode() for i in range(50)})
    keys = ["t3", "missing", "t49", "t0"]
    assert cache.get_many(CacheKind.CANDLE, keys) == [b"3", None, b"49", b"0"]
    assert cache.get_many(CacheKind.CANDLE, []) == []


def test_a_later_put_replaces_and_delete_removes(make_cache: MakeCache) -> None:
    cache = make_cache(CacheTtl())
    cache.put(CacheKind.INSTRUMENTS, "master", b"old")
    cache.put(CacheKind.INSTRUMENTS, "master", b"new")
    assert cache.get(CacheKind.INSTRUMENTS, "master") == b"new"
    cache.delete(CacheKind.INSTRUMENTS, "master")
    cache.delete(CacheKind.INSTRUMENTS, "master")  # twice is fine
    assert cache.get(CacheKind.INSTRUMENTS, "master") is None


def test_each_kind_expires_after_its_own_ttl() -> None:
    clock = Clock()
    cache = MemoryCache(CacheTtl(quote_s=1, candle_s=10, instruments_s=100), monotonic=clock)
    for kind in CacheKind:
        cache.put(kind, "k", kind.value.encode())
    clock.t += 5
    assert cache.get(CacheKind.QUOTE, "k") is None
    assert cache.get(CacheKind.CANDLE, "k") == b"candle"
    clock.t += 10
    assert cache.get(CacheKind.CANDLE, "k") is None
    assert cache.get(CacheKind.INSTRUMENTS, "k") == b"instruments"


def test_redis_sets_each_kinds_ttl_on_the_key() -> None:
    import redis

    prefix = unique_prefix()
    cache = RedisCache(shared_redis_url(), CacheTtl(quote_s=30, candle_s=600), prefix=prefix)
    cache.put(CacheKind.QUOTE, "k", b"v")
    cache.put_many(CacheKind.CANDLE, {"k": b"v"})
    raw = redis.Redis.from_url(shared_redis_url())
    try:
        assert 0 < raw.pttl(f"{prefix}quote:k") <= 30_000
        assert 30_000 < raw.pttl(f"{prefix}candle:k") <= 600_000
    finally:
        raw.delete(f"{prefix}quote:k", f"{prefix}candle:k")
        raw.close()
        cache.close()


def test_memory_cache_keeps_at_most_max_entries() -> None:
    cache = MemoryCache(CacheTtl(), max_entries=10)
    cache.put_many(CacheKind.QUOTE, {f"k{i}": b"v" for i in range(25)})
    values = cache.get_many(CacheKind.QUOTE, [f"k{i}" for i in range(25)])
    assert sum(v is not None for v in values) <= 10
