"""Bars built from ticks and closed by the exchange clock (issue #10, item 3).

A tick belongs to the bar whose interval holds its exchange timestamp (intervals counted from
midnight IST, so 1m bars open on the minute and 5m bars at 09:15, 09:20, ...). A bar closes
when the clock passes its end, whether or not another tick came: a quiet symbol still gets its
bar on time, and a tick that arrives after its bar was closed is dropped (counted), never put
into the next bar. Pure: the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from algo_trading.domain.events import Bar

__all__ = ["BarBuilder", "aggregate_candles"]

_NS_PER_MINUTE = 60 * 10**9
_IST_OFFSET_NS = 19_800 * 10**9


def _bar_start(ts_ns: int, step_ns: int) -> int:
    """The start of the interval holding `ts_ns`, intervals counted from midnight IST."""
    local = ts_ns + _IST_OFFSET_NS
    return local - local % step_ns - _IST_OFFSET_NS


@dataclass(slots=True)
class _Open:
    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int


class BarBuilder:
    """One symbol's bars of `minutes` minutes from its ticks."""

    __slots__ = ("_bar", "_last_cum_volume", "late_ticks", "minutes", "step_ns", "symbol")

    def __init__(self, symbol: str, minutes: int) -> None:
        if minutes <= 0:
            raise ValueError(f"bar interval of {symbol}: {minutes} minutes must be positive")
        self.symbol = symbol
        self.minutes = minutes
        self.step_ns = minutes * _NS_PER_MINUTE
        self._bar: _Open | None = None
        self._last_cum_volume: int | None = None
        self.late_ticks = 0

    def on_tick(self, ts_ns: int, price_paise: int, cumulative_volume: int = 0) -> Bar | None:
        """Add a trade print; returns the previous bar when this tick opens a new one.

        `cumulative_volume` is the day's volume as the feed reports it; a bar's volume is the
        difference between its first and last readings (0 when the feed gives none)."""
        traded = 0
        if cumulative_volume:
            last = self._last_cum_volume
            traded = max(0, cumulative_volume - last) if last is not None else 0
            self._last_cum_volume = cumulative_volume
        start = _bar_start(ts_ns, self.step_ns)
        bar = self._bar
        if bar is not None and start < bar.start_ns:
            self.late_ticks += 1
            return None
        closed = None
        if bar is not None and start > bar.start_ns:
            closed = self._close()
            bar = None
        if bar is None:
            self._bar = _Open(start, price_paise, price_paise, price_paise, price_paise, traded)
            return closed
        if price_paise > bar.high:
            bar.high = price_paise
        if price_paise < bar.low:
            bar.low = price_paise
        bar.close = price_paise
        bar.volume += traded
        return closed

    def close_due(self, now_ns: int) -> Bar | None:
        """The open bar, closed, when the clock has reached its end; None otherwise."""
        bar = self._bar
        if bar is None or now_ns < bar.start_ns + self.step_ns:
            return None
        return self._close()

    def next_close_ns(self) -> int | None:
        return None if self._bar is None else self._bar.start_ns + self.step_ns

    def _close(self) -> Bar:
        b = self._bar
        assert b is not None  # noqa: S101 - callers check
        self._bar = None
        return Bar(self.symbol, b.start_ns, b.open, b.high, b.low, b.close, b.volume)


def aggregate_candles(
    symbol: str,
    candles: Iterable[tuple[int, int, int, int, int, int]],
    minutes: int,
) -> list[Bar]:
    """One-minute candles (start ns, open, high, low, close, volume) as bars of `minutes`
    minutes, on the same grid the live bars use (warm-up from the candle history)."""
    step = minutes * _NS_PER_MINUTE
    bars: list[Bar] = []
    current: _Open | None = None
    for ts, o, h, lo, c, v in candles:
        start = _bar_start(ts, step)
        if current is not None and start != current.start_ns:
            bars.append(_as_bar(symbol, current))
            current = None
        if current is None:
            current = _Open(start, o, h, lo, c, v)
            continue
        current.high = max(current.high, h)
        current.low = min(current.low, lo)
        current.close = c
        current.volume += v
    if current is not None:
        bars.append(_as_bar(symbol, current))
    return bars


def _as_bar(symbol: str, b: _Open) -> Bar:
    return Bar(symbol, b.start_ns, b.open, b.high, b.low, b.close, b.volume)
