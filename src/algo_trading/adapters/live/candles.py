"""1-minute candles from ticks, per instrument, on the exchange timestamp.

A tick in a later minute closes the instrument's candle and opens the next; a tick from an
earlier minute (late, or replayed after a reconnect) is kept in the raw ticks but does not
reopen a closed candle. Volume is the growth of the feed's cumulative day volume within the
minute (0 in LTP mode, which carries none).

`on_tick` runs for every tick under the capture's lock, so the open candle is a plain list
mutated in place (no object per tick); a LiveCandle is built only when a minute closes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LiveCandle", "MinuteCandles"]

_NS_PER_MS = 1_000_000
_MS_PER_MINUTE = 60_000

# indices of an open candle's list
_START, _OPEN, _HIGH, _LOW, _CLOSE, _VOLUME, _TICKS, _LAST_CUM = range(8)


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
        self._open: dict[str, list[int]] = {}

    @property
    def open(self) -> dict[str, LiveCandle]:
        """The forming candles (built on each call: for publishing, not the hot path)."""
        return {s: _candle(s, c) for s, c in self._open.items()}

    def on_tick(
        self, symbol: str, exchange_ts_ms: int, ltp_paise: int, cum_volume: int
    ) -> LiveCandle | None:
        if ltp_paise <= 0:
            return None
        minute = exchange_ts_ms // _MS_PER_MINUTE
        c = self._open.get(symbol)
        if c is not None and minute == c[_START]:
            if ltp_paise > c[_HIGH]:
                c[_HIGH] = ltp_paise
            elif ltp_paise < c[_LOW]:
                c[_LOW] = ltp_paise
            c[_CLOSE] = ltp_paise
            if cum_volume > 0:
                last = c[_LAST_CUM]
                if last > 0 and cum_volume > last:
                    c[_VOLUME] += cum_volume - last
                c[_LAST_CUM] = cum_volume
            c[_TICKS] += 1
            return None
        if c is not None and minute < c[_START]:
            return None  # late tick: the minute it belongs to is closed
        last_cum = c[_LAST_CUM] if c is not None else 0
        volume = cum_volume - last_cum if last_cum > 0 and cum_volume > last_cum else 0
        self._open[symbol] = [
            minute,
            ltp_paise,
            ltp_paise,
            ltp_paise,
            ltp_paise,
            volume,
            1,
            cum_volume if cum_volume > 0 else last_cum,
        ]
        return None if c is None else _candle(symbol, c)

    def close_all(self) -> list[LiveCandle]:
        """Every open candle, closed (the end of a capture)."""
        closed = [_candle(s, c) for s, c in self._open.items()]
        self._open.clear()
        return closed


def _candle(symbol: str, c: list[int]) -> LiveCandle:
    return LiveCandle(
        symbol,
        c[_START] * _MS_PER_MINUTE * _NS_PER_MS,
        c[_OPEN],
        c[_HIGH],
        c[_LOW],
        c[_CLOSE],
        c[_VOLUME],
        c[_TICKS],
    )
