"""The time-to-live of each kind of cached value."""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.engine.ports import CacheKind

__all__ = ["CacheTtl"]


@dataclass(frozen=True, slots=True)
class CacheTtl:
    """Seconds a value of each kind lives. A quote is stale within a minute or two of a quiet
    feed; candles are kept for the session; the instrument master is refreshed daily at 08:30."""

    quote_s: float = 120.0
    candle_s: float = 8 * 3600.0
    instruments_s: float = 26 * 3600.0

    def __post_init__(self) -> None:
        for name in ("quote_s", "candle_s", "instruments_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"cache ttl {name} must be positive, not {value!r}")

    def of(self, kind: CacheKind) -> float:
        if kind is CacheKind.QUOTE:
            return self.quote_s
        if kind is CacheKind.CANDLE:
            return self.candle_s
        return self.instruments_s
