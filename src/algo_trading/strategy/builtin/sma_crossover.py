"""SMA crossover: trend following on two simple moving averages of the close.

Parameters: `fast` (10), `slow` (30), `allow_short` (false). A crossing is the fast average
above the slow on this bar and not above on the previous one (and the mirror for below),
decided exactly on the paise sums: float noise never makes or hides one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import gcd

from algo_trading.domain.events import Bar
from algo_trading.strategy.builtin._crossover import MovingAverageCrossover, check_fast_slow
from algo_trading.strategy.indicators import SMA, CrossOver, Exact, SmaCrossOver

__all__ = ["SmaCrossover", "SmaCrossoverParams"]


@dataclass(frozen=True)
class SmaCrossoverParams:
    fast: int = 10
    slow: int = 30
    allow_short: bool = False

    def __post_init__(self) -> None:
        check_fast_slow("sma_crossover", self.fast, self.slow)


class SmaCrossover(MovingAverageCrossover):
    name = "sma_crossover"
    Params = SmaCrossoverParams

    def average(self, period: int, symbol: str) -> Exact:
        return self.sma(period, symbol)

    def on_start(self) -> None:
        # The two averages and their crossing as one registered indicator: one call a bar
        # instead of three, the same values (SmaCrossOver).
        p = self.params
        self.cross: dict[str, CrossOver] = {}
        self._fused: dict[str, SmaCrossOver] = {}
        for sym in self.symbols:
            both = self._fused[sym] = self.indicator(SmaCrossOver(SMA(p.fast), SMA(p.slow)), sym)
            self.cross[sym] = both.cross

    def bar_calls(self, symbol: str) -> tuple[Callable[[Bar], None], ...]:
        """One function a bar: `SmaCrossOver.on_bar` and then `on_bar`, inlined. Only for
        this class's own on_bar and indicators; a subclass that changes either gets the
        default (its indicators, then its on_bar)."""
        # getattr: an on_start that failed may have set neither (the engine still asks)
        fused: dict[str, SmaCrossOver] = getattr(self, "_fused", {})
        crosses: dict[str, CrossOver] = getattr(self, "cross", {})
        both = fused.get(symbol)
        if (
            type(self).on_bar is not MovingAverageCrossover.on_bar
            or both is None
            or self.indicator_updates.get(symbol) != [both.on_bar]
            or crosses.get(symbol) is not both.cross
        ):
            return super().bar_calls(symbol)
        a, b, c = both.fast, both.slow, both.cross
        # What an SMA never changes after it is made: its ring of values (the list itself),
        # its period and its denominator; read once here for the warm path below.
        a_buf, a_period = a._buf, a.period
        b_buf, b_period = b._buf, b.period
        # The crossing compares an * b.den with bn * a.den (the averages' sums over their
        # positive denominators); dividing both sides by the denominators' gcd keeps every
        # comparison, and where a side's factor is 1 (one period a multiple of the other,
        # e.g. 10 and 30) it needs no multiplication.
        g = gcd(a.den, b.den)
        a_factor, b_factor = b.den // g, a.den // g

        def step(bar: Bar) -> None:
            x = bar.close
            if c.ready:
                # Warm (nearly every bar): both averages and the crossing are ready and stay
                # so, and the crossing's previous side is set. The lines below without their
                # readiness checks, the signal taken where it is decided.
                i = a._i
                an = a.num + (x - a_buf[i])
                a.num = an
                a_buf[i] = x
                i += 1
                a._i = 0 if i == a_period else i
                i = b._i
                bn = b.num + (x - b_buf[i])
                b.num = bn
                b_buf[i] = x
                i += 1
                b._i = 0 if i == b_period else i
                # the sign of an * b.den - bn * a.den, without making the difference
                fast_side = an if a_factor == 1 else an * a_factor
                slow_side = bn if b_factor == 1 else bn * b_factor
                prev = c._prev
                if fast_side > slow_side:
                    c._prev = 1
                    if prev == 1:  # was above already (prev is 1, 0 or -1 once ready)
                        c.value = 0
                        return
                    c.value = 1
                    self.target_position(self.quantity, bar.symbol)
                elif fast_side < slow_side:
                    c._prev = -1
                    if prev == -1:  # was below already
                        c.value = 0
                        return
                    c.value = -1
                    if self.params.allow_short:
                        self.target_position(-self.quantity, bar.symbol)
                    else:
                        self.target_position(0, bar.symbol)
                else:
                    c.value = 0
                    c._prev = 0
                return
            # SmaCrossOver.on_bar (the same lines; tests hold the two equal) ...
            i = a._i
            a.num += x - a._buf[i]
            a._buf[i] = x
            i += 1
            a._i = 0 if i == a.period else i
            if not a.ready:
                a.count += 1
                a.ready = a.count >= a.period
            i = b._i
            b.num += x - b._buf[i]
            b._buf[i] = x
            i += 1
            b._i = 0 if i == b.period else i
            if not b.ready:
                b.count += 1
                b.ready = b.count >= b.period
            if a.ready and b.ready:
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
                    c.ready = both.ready = True
            # ... then MovingAverageCrossover.on_bar
            signal = c.value
            if signal == 0:
                return
            if signal > 0:
                self.target_position(self.quantity, bar.symbol)
            elif self.params.allow_short:
                self.target_position(-self.quantity, bar.symbol)
            else:
                self.target_position(0, bar.symbol)

        return (step,)
