"""1-minute candles from ticks, per instrument, on the exchange timestamp.

A tick in a later minute closes the instrument's candle and opens the next; a tick from an
earlier minute (late, or replayed after a reconnect) is kept in the raw ticks but does not
reopen a closed candle. Volume is the growth of the feed's cumulative day volume within the
minute (0 in LTP mode, which carries none).

`on_ticks` takes a batch as columns (the capture hands its buffer over a few times a second)
and runs one tight loop; the open candle is a plain list mutated in place (no object per
tick); a LiveCandle is built only when a minute closes.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        """One tick (tests, a caller without a batch); the capture uses `on_ticks`."""
        closed = self.on_ticks((symbol,), (exchange_ts_ms,), (ltp_paise,), (cum_volume,))
        return closed[0] if closed else None

    def on_ticks(
        self,
        symbols: Iterable[str],
        exchange_ts_ms: Iterable[int],
        ltp_paise: Iterable[int],
        cum_volume: Iterable[int],
    ) -> list[LiveCandle]:
        """A batch of ticks in arrival order, as columns; returns the candles they closed.
        One loop with everything in locals: the capture's hand-over runs it for every tick."""
        closed: list[LiveCandle] = []
        opened = self._open
        get = opened.get
        for symbol, ts_ms, ltp, cum in zip(
            symbols, exchange_ts_ms, ltp_paise, cum_volume, strict=True
        ):
            if ltp <= 0:
                continue
            minute = ts_ms // _MS_PER_MINUTE
            c = get(symbol)
            if c is not None:
                start = c[_START]
                if minute == start:
                    if ltp > c[_HIGH]:
                        c[_HIGH] = ltp
                    elif ltp < c[_LOW]:
                        c[_LOW] = ltp
                    c[_CLOSE] = ltp
                    if cum > 0:
                        last = c[_LAST_CUM]
                        if last > 0 and cum > last:
                            c[_VOLUME] += cum - last
                        c[_LAST_CUM] = cum
                    c[_TICKS] += 1
                    continue
                if minute < start:
                    continue  # late tick: the minute it belongs to is closed
                closed.append(_candle(symbol, c))
                last_cum = c[_LAST_CUM]
            else:
                last_cum = 0
            volume = cum - last_cum if last_cum > 0 and cum > last_cum else 0
            opened[symbol] = [minute, ltp, ltp, ltp, ltp, volume, 1, cum if cum > 0 else last_cum]
        return closed

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
