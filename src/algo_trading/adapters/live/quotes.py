"""How the latest quote and the 1-minute candles sit in the cache, for the data service that
writes them and the trading service and dashboard that read them.

Keys: quote `EXCHANGE:SYMBOL`; candle `EXCHANGE:SYMBOL:<minute start ns>` for each closed
minute and `EXCHANGE:SYMBOL:latest` for the forming one. Values: compact JSON, prices in
integer paise. `recent_candles` reads the last N minutes in one `get_many` (one MGET).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from algo_trading.adapters.live.candles import LiveCandle
from algo_trading.engine.ports import Cache, CacheKind

__all__ = [
    "candle_key",
    "decode",
    "encode_candle",
    "encode_quote",
    "latest_candle",
    "latest_quote",
    "quote_key",
    "recent_candles",
]

_NS_PER_MINUTE = 60_000_000_000


def quote_key(symbol: str) -> str:
    return symbol


def candle_key(symbol: str, start_ns: int | None) -> str:
    return f"{symbol}:{'latest' if start_ns is None else start_ns}"


def encode_quote(
    symbol: str,
    *,
    ltp_paise: int,
    exchange_ts_ms: int,
    recv_ts_ns: int,
    volume: int = 0,
    sequence: int = 0,
) -> bytes:
    return json.dumps(
        {
            "symbol": symbol,
            "ltp_paise": ltp_paise,
            "exchange_ts_ms": exchange_ts_ms,
            "recv_ts_ns": recv_ts_ns,
            "volume": volume,
            "sequence": sequence,
        },
        separators=(",", ":"),
    ).encode()


def encode_candle(candle: LiveCandle) -> bytes:
    return json.dumps(
        {
            "symbol": candle.symbol,
            "start_ns": candle.start_ns,
            "open_paise": candle.open_paise,
            "high_paise": candle.high_paise,
            "low_paise": candle.low_paise,
            "close_paise": candle.close_paise,
            "volume": candle.volume,
            "ticks": candle.ticks,
        },
        separators=(",", ":"),
    ).encode()


def decode(value: bytes | None) -> Mapping[str, Any] | None:
    """A cached value as a dict; None for a miss or a value that is not ours (never raises:
    a bad cache entry is a miss, and the caller reads the source)."""
    if value is None:
        return None
    try:
        out = json.loads(value)
    except ValueError:
        return None
    return out if isinstance(out, dict) else None


def latest_quote(cache: Cache, symbol: str) -> Mapping[str, Any] | None:
    return decode(cache.get(CacheKind.QUOTE, quote_key(symbol)))


def latest_candle(cache: Cache, symbol: str) -> Mapping[str, Any] | None:
    return decode(cache.get(CacheKind.CANDLE, candle_key(symbol, None)))


def recent_candles(
    cache: Cache, symbol: str, last_minute_ns: int, count: int
) -> list[Mapping[str, Any]]:
    """The closed candles of the `count` minutes ending with the one starting at
    `last_minute_ns`, oldest first; minutes without one (no trade, or expired) are left out."""
    first = last_minute_ns - (count - 1) * _NS_PER_MINUTE
    keys = [candle_key(symbol, first + i * _NS_PER_MINUTE) for i in range(count)]
    return [c for c in map(decode, cache.get_many(CacheKind.CANDLE, keys)) if c is not None]
