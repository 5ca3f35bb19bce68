"""The live capture's storage: ticks buffered and flushed to Parquet in the object store,
1-minute candles built from them, and the cache's encoding of the latest quote and candle."""

from algo_trading.adapters.live.candles import LiveCandle, MinuteCandles
from algo_trading.adapters.live.quotes import (
    candle_key,
    decode,
    encode_candle,
    encode_quote,
    latest_candle,
    latest_quote,
    quote_key,
    recent_candles,
)
from algo_trading.adapters.live.ticks import TICK_SCHEMA, LiveTickWriter, TickRow, read_ticks

__all__ = [
    "TICK_SCHEMA",
    "LiveCandle",
    "LiveTickWriter",
    "MinuteCandles",
    "TickRow",
    "candle_key",
    "decode",
    "encode_candle",
    "encode_quote",
    "latest_candle",
    "latest_quote",
    "quote_key",
    "read_ticks",
    "recent_candles",
]
