"""Cache adapters (the `Cache` port): in-process, and Redis when ALGO_REDIS_URL is set."""

from algo_trading.adapters.cache.memory import MemoryCache
from algo_trading.adapters.cache.ttl import CacheTtl

__all__ = ["CacheTtl", "MemoryCache"]
