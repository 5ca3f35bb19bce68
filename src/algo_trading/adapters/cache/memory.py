"""The in-process cache: the embedded default when no Redis is configured. One process only
(the data service's quotes do not reach another process through it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

from algo_trading.adapters.cache.ttl import CacheTtl
from algo_trading.engine.ports import CacheKind

__all__ = ["MemoryCache"]


class MemoryCache:
    """A dict per kind of (expiry, value); expired entries are dropped when read, and swept
    when the cache grows past `max_entries` (oldest expiry first)."""

    def __init__(
        self,
        ttl: CacheTtl | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = 1_000_000,
    ) -> None:
        self._ttl = ttl or CacheTtl()
        self._now = monotonic
        self._max = max_entries
        self._lock = threading.Lock()
        self._data: dict[tuple[CacheKind, str], tuple[float, bytes]] = {}

    @property
    def available(self) -> bool:
        return True

    def get(self, kind: CacheKind, key: str) -> bytes | None:
        return self.get_many(kind, [key])[0]

    def get_many(self, kind: CacheKind, keys: Sequence[str]) -> list[bytes | None]:
        now = self._now()
        out: list[bytes | None] = []
        with self._lock:
            for key in keys:
                hit = self._data.get((kind, key))
                if hit is None:
                    out.append(None)
                elif hit[0] <= now:
                    del self._data[(kind, key)]
                    out.append(None)
                else:
                    out.append(hit[1])
        return out

    def put(self, kind: CacheKind, key: str, value: bytes) -> None:
        self.put_many(kind, {key: value})

    def put_many(self, kind: CacheKind, items: Mapping[str, bytes]) -> None:
        expiry = self._now() + self._ttl.of(kind)
        with self._lock:
            for key, value in items.items():
                self._data[(kind, key)] = (expiry, bytes(value))
            if len(self._data) > self._max:
                self._sweep()

    def delete(self, kind: CacheKind, key: str) -> None:
        with self._lock:
            self._data.pop((kind, key), None)

    def _sweep(self) -> None:
        now = self._now()
        for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
            del self._data[k]
        if len(self._data) > self._max:
            by_expiry = sorted(self._data, key=lambda k: self._data[k][0])
            for k in by_expiry[: len(self._data) - self._max]:
                del self._data[k]
