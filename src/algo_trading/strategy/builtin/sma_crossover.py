"""SMA crossover: trend following on two simple moving averages of the close.

Parameters: `fast` (10), `slow` (30), `allow_short` (false). A crossing is the fast average
above the slow on this bar and not above on the previous one (and the mirror for below),
decided exactly on the paise sums: float noise never makes or hides one.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        for sym in self.symbols:
            both = self.indicator(SmaCrossOver(SMA(p.fast), SMA(p.slow)), sym)
            self.cross[sym] = both.cross
