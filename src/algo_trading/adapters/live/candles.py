"""1-minute candles from ticks, per instrument, on the exchange timestamp.

A tick in a later minute closes the instrument's candle and opens the next; a tick from an
earlier minute (late, or replayed after a reconnect) is kept in the raw ticks but does not
reopen a closed candle. Volume is the growth of the feed's cumulative day volume within the
minute (0 in LTP mode, which carries none).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LiveCandle", "MinuteCandles"]

_NS_PER_MS = 1_000_000
_MS_PER_MINUTE = 60_000


@dataclass(slots=True)
class LiveCandle:
    symbol: str
    start_ns: int  # the minute's start, epoch ns
    open_paise: int
    high_paise: int
    low_paise: int
    close_paise: int
    volume: int
    ticks: int


class MinuteCandles:
    """Open candles by symbol; `on_tick` returns the candle it closed, if any."""

    def __init__(self) -> None:
        self.open: dict[str, LiveCandle] = {}
        self._last_volume: dict[str, int] = {}

    def on_tick(
        self, symbol: str, exchange_ts_ms: int, ltp_paise: int, cum_volume: int
    ) -> LiveCandle | None:
        if ltp_paise <= 0:
            return None
        start_ns = (exchange_ts_ms // _MS_PER_MINUTE) * _MS_PER_MINUTE * _NS_PER_MS
        last_volume = self._last_volume.get(symbol)
        traded = cum_volume - last_volume if last_volume is not None and cum_volume > 0 else 0
        if cum_volume > 0:
            self._last_volume[symbol] = cum_volume
        candle = self.open.get(symbol)
        if candle is not None and start_ns == candle.start_ns:
            if ltp_paise > candle.high_paise:
                candle.high_paise = ltp_paise
            if ltp_paise < candle.low_paise:
                candle.low_paise = ltp_paise
            candle.close_paise = ltp_paise
            candle.volume += max(0, traded)
            candle.ticks += 1
            return None
        if candle is not None and start_ns < candle.start_ns:
            return None  # late tick: the minute it belongs to is closed
        new = LiveCandle(symbol, start_ns, ltp_paise, ltp_paise, ltp_paise, ltp_paise, 0, 1)
        self.open[symbol] = new
        return candle

    def close_all(self) -> list[LiveCandle]:
        """Every open candle, closed (the end of a capture)."""
        closed = list(self.open.values())
        self.open.clear()
        return closed
