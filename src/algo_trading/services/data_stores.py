"""Settings -> the cache and the object store, by plain calls (the data service, the trading
service, the dashboard and `backtest --save` all build them here).

Redis when ALGO_REDIS_URL is set, the in-process cache otherwise; S3 when ALGO_S3_BUCKET is
set, the local folder (ALGO_OBJECTS_DIR, default <data_dir>/objects) otherwise; the data
service's S3 store spills to <data_dir>/spill while the bucket is unreachable. Building
connects to nothing; `check_*` reach the server once and raise one typed line when it is not
there (a command stops with exit 2; the daemon logs it and runs degraded).
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from algo_trading.adapters.cache import CacheTtl, MemoryCache
from algo_trading.adapters.objectstore import LocalObjectStore, SpillingObjectStore
from algo_trading.engine.ports import Cache, ObjectStore
from algo_trading.services.settings import Settings

__all__ = ["build_cache", "build_object_store", "cache_ttl", "check_cache"]


def cache_ttl(settings: Settings) -> CacheTtl:
    return CacheTtl(
        quote_s=settings.cache_ttl_quote_s,
        candle_s=settings.cache_ttl_candle_s,
        instruments_s=settings.cache_ttl_instruments_s,
    )


def build_cache(settings: Settings, registry: CollectorRegistry | None = None) -> Cache:
    url = settings.redis_url.get_secret_value()
    if not url:
        return MemoryCache(cache_ttl(settings))
    from algo_trading.adapters.cache.redis import RedisCache

    return RedisCache(url, cache_ttl(settings), registry=registry)


def check_cache(cache: Cache) -> None:
    """CacheUnavailableError unless the cache answers now (the in-process one always does)."""
    check = getattr(cache, "check", None)
    if check is not None:
        check()


def build_object_store(settings: Settings, *, spill_dir: Path | None = None) -> ObjectStore:
    """The local folder, or S3; with `spill_dir` (the data service), S3 wrapped so that its
    puts spill to that folder while it is unreachable (adapters/objectstore/spill.py)."""
    if not settings.s3_bucket:
        return LocalObjectStore(settings.objects_path)
    from algo_trading.adapters.objectstore.s3 import S3ObjectStore

    s3 = S3ObjectStore(
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        region=settings.s3_region or None,
        endpoint_url=settings.s3_endpoint_url or None,
        kms_key_id=settings.s3_kms_key_id,
    )
    if spill_dir is None:
        return s3
    return SpillingObjectStore(s3, LocalObjectStore(spill_dir))
