"""Incremental indicators, exact: each value is a rational `num / den` (paise, or points for
RSI) with integer numerator and denominator, so comparisons never depend on float noise.

Averages that divide (EMA, Wilder smoothing) keep a fixed-point value with `SCALE` units per
paisa and round half up at every step: deterministic on every machine and far finer than a
tick. `value` gives a float for display and for logic that does not need exactness.

Each indicator takes one bar at a time through `on_bar(bar)` (the strategy base class calls it
before the strategy's own `on_bar`); `update(x)` feeds one value directly.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar

__all__ = [
    "ATR",
    "EMA",
    "RSI",
    "SCALE",
    "SMA",
    "VWAP",
    "Bollinger",
    "CrossOver",
    "Exact",
    "Indicator",
    "SmaCrossOver",
    "Supertrend",
    "compare",
]

SCALE = 10**8
"""Fixed-point units per paisa for EMA-like averages."""

_NS_PER_DAY = 86_400 * 10**9
_IST_OFFSET_NS = 19_800 * 10**9


class Exact(Protocol):
    """An indicator whose current value is num / den exactly."""

    ready: bool
    num: int
    den: int


class Indicator(Protocol):
    ready: bool

    def on_bar(self, bar: Bar) -> None: ...


def compare(a: Exact, b: Exact) -> int:
    """-1, 0 or 1 as a < b, a == b, a > b, exactly (dens are positive)."""
    left, right = a.num * b.den, b.num * a.den
    return (left > right) - (left < right)


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _fraction(name: str, value: int | str | Decimal | Fraction) -> Fraction:
    if isinstance(value, float):
        raise ConfigError(f"{name}: give {value!r} as text or Decimal, not a float")
    try:
        f = Fraction(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: {value!r} is not a number") from None
    if f <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return f


def _div_half_up(n: int, d: int) -> int:
    """n / d rounded half up (d > 0)."""
    return (2 * n + d) // (2 * d)


def _source(source: str) -> Callable[[Bar], int]:
    if source not in ("open", "high", "low", "close"):
        raise ConfigError(f"indicator source {source!r}: use open, high, low or close")
    getter: Callable[[Bar], int] = operator.attrgetter(source)
    return getter


class SMA:
    """Simple moving average over the last `period` values: num = their sum, den = period."""

    __slots__ = ("_buf", "_get", "_i", "count", "den", "num", "period", "ready")

    def __init__(self, period: int, source: str = "close") -> None:
        self.period = _positive_int("SMA period", period)
        self._get = None if source == "close" else _source(source)
        self._buf = [0] * period
        self._i = 0
        self.count = 0
        self.num = 0
        self.den = period
        self.ready = False

    def update(self, x: int) -> None:
        i = self._i
        self.num += x - self._buf[i]
        self._buf[i] = x
        i += 1
        self._i = 0 if i == self.period else i
        if not self.ready:  # `count` stops at `period`: nothing needs it beyond
            self.count += 1
            self.ready = self.count >= self.period

    def on_bar(self, bar: Bar) -> None:
        # update() inlined: this runs for every bar of every SMA (see benchmarks/)
        x = bar.close if self._get is None else self._get(bar)
        i = self._i
        self.num += x - self._buf[i]
        self._buf[i] = x
        i += 1
        self._i = 0 if i == self.period else i
        if not self.ready:  # `count` stops at `period`: nothing needs it beyond
            self.count += 1
            self.ready = self.count >= self.period

    @property
    def value(self) -> float:
        return self.num / self.den


class EMA:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of the first
    `period` values (the common convention); fixed point with SCALE units per paisa."""

    __slots__ = ("_get", "_seed", "count", "den", "num", "period", "ready")

    def __init__(self, period: int, source: str = "close") -> None:
        self.period = _positive_int("EMA period", period)
        self._get = _source(source)
        self._seed = 0
        self.count = 0
        self.num = 0
        self.den = SCALE
        self.ready = False

    def update(self, x: int) -> None:
        self.count += 1
        if not self.ready:
            self._seed += x
            if self.count == self.period:
                self.num = _div_half_up(self._seed * SCALE, self.period)
                self.ready = True
            return
        self.num += _div_half_up(2 * (x * SCALE - self.num), self.period + 1)

    def on_bar(self, bar: Bar) -> None:
        self.update(self._get(bar))

    @property
    def value(self) -> float:
        return self.num / SCALE


class _Wilder:
    """Wilder's smoothing: the mean of the first `period` values, then
    avg = (avg × (period − 1) + x) / period; fixed point."""

    __slots__ = ("count", "period", "ready", "sum", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self.count = 0
        self.sum = 0
        self.value = 0
        self.ready = False

    def update(self, x: int) -> None:
        self.count += 1
        if not self.ready:
            self.sum += x
            if self.count == self.period:
                self.value = _div_half_up(self.sum * SCALE, self.period)
                self.ready = True
            return
        self.value = _div_half_up(self.value * (self.period - 1) + x * SCALE, self.period)


class RSI:
    """Relative strength index (Wilder), 0 to 100: num / den = 100 × gain / (gain + loss).
    A flat window (no gain, no loss) reads 50."""

    __slots__ = ("_gain", "_get", "_loss", "_prev", "den", "num", "period", "ready")

    def __init__(self, period: int = 14, source: str = "close") -> None:
        self.period = _positive_int("RSI period", period)
        self._get = _source(source)
        self._gain = _Wilder(period)
        self._loss = _Wilder(period)
        self._prev: int | None = None
        self.num = 50
        self.den = 1
        self.ready = False

    def update(self, x: int) -> None:
        prev = self._prev
        self._prev = x
        if prev is None:
            return
        change = x - prev
        self._gain.update(change if change > 0 else 0)
        self._loss.update(-change if change < 0 else 0)
        if self._gain.ready:
            self.ready = True
            g, total = self._gain.value, self._gain.value + self._loss.value
            if total == 0:
                self.num, self.den = 50, 1
            else:
                self.num, self.den = 100 * g, total

    def on_bar(self, bar: Bar) -> None:
        self.update(self._get(bar))

    def below(self, level: int) -> bool:
        return self.num < level * self.den

    def above(self, level: int) -> bool:
        return self.num > level * self.den

    @property
    def value(self) -> float:
        return self.num / self.den


class ATR:
    """Average true range (Wilder smoothing of the true range); num / den in paise."""

    __slots__ = ("_prev_close", "_w", "den", "num", "period", "ready")

    def __init__(self, period: int = 14) -> None:
        self.period = _positive_int("ATR period", period)
        self._w = _Wilder(period)
        self._prev_close: int | None = None
        self.num = 0
        self.den = SCALE
        self.ready = False

    def on_bar(self, bar: Bar) -> None:
        pc = self._prev_close
        high, low = bar.high, bar.low
        tr = high - low if pc is None else max(high, pc) - min(low, pc)
        self._prev_close = bar.close
        self._w.update(tr)
        if self._w.ready:
            self.ready = True
            self.num = self._w.value

    @property
    def value(self) -> float:
        return self.num / SCALE


class VWAP:
    """Volume-weighted average of the typical price (high + low + close) / 3 since the start of
    the bar's IST trading day; resets each day. Not ready until some volume has traded."""

    __slots__ = ("_day", "_pv", "_v", "den", "num", "ready")

    def __init__(self) -> None:
        self._day = -1
        self._pv = 0
        self._v = 0
        self.num = 0
        self.den = 1
        self.ready = False

    def on_bar(self, bar: Bar) -> None:
        day = (bar.ts_ns + _IST_OFFSET_NS) // _NS_PER_DAY
        if day != self._day:
            self._day, self._pv, self._v = day, 0, 0
            self.ready = False
        v = bar.volume
        if v > 0:
            self._pv += (bar.high + bar.low + bar.close) * v
            self._v += v
            self.num, self.den = self._pv, 3 * self._v
            self.ready = True

    @property
    def value(self) -> float:
        return self.num / self.den


class Bollinger:
    """Bollinger bands: mid = SMA(period), bands = mid ± k × population standard deviation.
    `above_upper(p)` and `below_lower(p)` decide exactly, by squaring instead of a square root."""

    __slots__ = ("_buf", "_get", "_i", "_k", "_s", "_ss", "count", "period", "ready")

    def __init__(
        self, period: int = 20, k: int | str | Decimal | Fraction = 2, source: str = "close"
    ) -> None:
        self.period = _positive_int("Bollinger period", period)
        self._k = _fraction("Bollinger k", k)
        self._get = _source(source)
        self._buf = [0] * period
        self._i = 0
        self._s = 0
        self._ss = 0
        self.count = 0
        self.ready = False

    def update(self, x: int) -> None:
        old = self._buf[self._i]
        self._s += x - old
        self._ss += x * x - old * old
        self._buf[self._i] = x
        self._i = (self._i + 1) % self.period
        self.count += 1
        if self.count >= self.period:
            self.ready = True

    def on_bar(self, bar: Bar) -> None:
        self.update(self._get(bar))

    def _beyond(self, price: int, sign: int) -> bool:
        n, s = self.period, self._s
        dev = sign * (n * price - s)  # n × distance from the mid, on the side asked
        if dev <= 0:
            return False
        var_n2 = n * self._ss - s * s  # n² × variance
        k = self._k
        return k.denominator**2 * dev * dev > k.numerator**2 * var_n2

    def above_upper(self, price: int) -> bool:
        return self.ready and self._beyond(price, 1)

    def below_lower(self, price: int) -> bool:
        return self.ready and self._beyond(price, -1)

    @property
    def mid(self) -> float:
        return self._s / self.period

    @property
    def width(self) -> float:
        n = self.period
        var = (n * self._ss - self._s * self._s) / (n * n)
        return float(self._k) * float(max(var, 0.0) ** 0.5)

    @property
    def upper(self) -> float:
        return self.mid + self.width

    @property
    def lower(self) -> float:
        return self.mid - self.width


class Supertrend:
    """Supertrend(period, multiplier) on ATR and the bar's (high + low) / 2: the final bands
    ratchet (the lower band only rises while the trend is up, the upper only falls while it is
    down) and `direction` flips when the close crosses the active band. Fixed point."""

    __slots__ = (
        "_atr",
        "_lower",
        "_m",
        "_prev_close",
        "_upper",
        "den",
        "direction",
        "flipped",
        "num",
        "ready",
    )

    def __init__(self, period: int = 10, multiplier: int | str | Decimal | Fraction = 3) -> None:
        self._atr = ATR(period)
        self._m = _fraction("Supertrend multiplier", multiplier)
        self._upper = 0
        self._lower = 0
        self._prev_close = 0
        self.direction = 0  # +1 up, -1 down, 0 not yet known
        self.flipped = False
        self.num = 0
        self.den = SCALE
        self.ready = False

    def on_bar(self, bar: Bar) -> None:
        self._atr.on_bar(bar)
        self.flipped = False
        if not self._atr.ready:
            self._prev_close = bar.close
            return
        m = self._m
        mid = (bar.high + bar.low) * SCALE // 2
        band = self._atr.num * m.numerator // m.denominator
        basic_upper, basic_lower = mid + band, mid - band
        close = bar.close * SCALE
        prev_close = self._prev_close * SCALE
        if self.direction == 0:
            self._upper, self._lower = basic_upper, basic_lower
            self.direction = 1 if close >= mid else -1
        else:
            if basic_upper < self._upper or prev_close > self._upper:
                self._upper = basic_upper
            if basic_lower > self._lower or prev_close < self._lower:
                self._lower = basic_lower
            if self.direction == 1 and close < self._lower:
                self.direction, self.flipped = -1, True
            elif self.direction == -1 and close > self._upper:
                self.direction, self.flipped = 1, True
        self.num = self._lower if self.direction == 1 else self._upper
        self._prev_close = bar.close
        self.ready = True

    @property
    def value(self) -> float:
        return self.num / SCALE


class CrossOver:
    """+1 on the bar where `a` goes above `b` (above now, not above on the previous bar), −1
    where it goes below (below now, not below before), else 0. Decided exactly; needs both
    ready on the previous bar. Register it after `a` and `b` so it sees their new values."""

    __slots__ = ("_a", "_b", "_prev", "ready", "value")

    def __init__(self, a: Exact, b: Exact) -> None:
        self._a = a
        self._b = b
        self._prev: int | None = None  # compare(a, b) on the previous bar
        self.value = 0
        self.ready = False

    def on_bar(self, bar: Bar) -> None:
        a, b = self._a, self._b
        if not (a.ready and b.ready):
            return
        # Written for speed (it runs on every bar); the same rule as the docstring says.
        diff = a.num * b.den - b.num * a.den
        prev = self._prev
        if diff > 0:
            self.value = 1 if prev is not None and prev <= 0 else 0
            self._prev = 1
        elif diff < 0:
            self.value = -1 if prev is not None and prev >= 0 else 0
            self._prev = -1
        else:
            self.value = 0
            self._prev = 0
        if not self.ready:
            self.ready = True


class SmaCrossOver:
    """The `CrossOver` of two SMAs of the close, `fast` and `slow`, that also updates them:
    register it instead of the three, and each bar costs one call rather than three (the
    averages and the crossing are what the SMA crossover computes on every bar, see
    benchmarks/). The same arithmetic as `SMA.on_bar` twice then `CrossOver.on_bar`; `fast`,
    `slow` and `cross` stay readable as they would be."""

    __slots__ = ("cross", "fast", "ready", "slow")

    def __init__(self, fast: SMA, slow: SMA) -> None:
        if fast._get is not None or slow._get is not None:
            raise ConfigError("SmaCrossOver: both averages must be of the close")
        self.fast = fast
        self.slow = slow
        self.cross = CrossOver(fast, slow)
        self.ready = False  # as `cross.ready`

    @property
    def value(self) -> int:
        return self.cross.value

    def on_bar(self, bar: Bar) -> None:
        x = bar.close
        a = self.fast
        i = a._i
        a.num += x - a._buf[i]
        a._buf[i] = x
        i += 1
        a._i = 0 if i == a.period else i
        if not a.ready:
            a.count += 1
            a.ready = a.count >= a.period
        b = self.slow
        i = b._i
        b.num += x - b._buf[i]
        b._buf[i] = x
        i += 1
        b._i = 0 if i == b.period else i
        if not b.ready:
            b.count += 1
            b.ready = b.count >= b.period
            if not (b.ready and a.ready):
                return
        elif not a.ready:
            return
        c = self.cross
        diff = a.num * b.den - b.num * a.den
        prev = c._prev
        if diff > 0:
            c.value = 1 if prev is not None and prev <= 0 else 0
            c._prev = 1
        elif diff < 0:
            c.value = -1 if prev is not None and prev >= 0 else 0
            c._prev = -1
        else:
            c.value = 0
            c._prev = 0
        if not c.ready:
            c.ready = self.ready = True
