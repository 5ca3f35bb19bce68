"""EMA crossover: trend following on two exponential moving averages of the close.

Parameters: `fast` (12), `slow` (26), `allow_short` (false). The EMAs are fixed point (see
`strategy.indicators`), seeded with the SMA of their first `period` closes; crossings are
decided exactly on those integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.strategy.builtin._crossover import MovingAverageCrossover, check_fast_slow
from algo_trading.strategy.indicators import Exact

__all__ = ["EmaCrossover", "EmaCrossoverParams"]


@dataclass(frozen=True)
class EmaCrossoverParams:
    fast: int = 12
    slow: int = 26
    allow_short: bool = False

    def __post_init__(self) -> None:
        check_fast_slow("ema_crossover", self.fast, self.slow)


class EmaCrossover(MovingAverageCrossover):
    name = "ema_crossover"
    Params = EmaCrossoverParams

    def average(self, period: int, symbol: str) -> Exact:
        return self.ema(period, symbol)
