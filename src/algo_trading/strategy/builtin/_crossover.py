"""The moving-average crossover both `sma_crossover` and `ema_crossover` are made of."""

from __future__ import annotations

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar
from algo_trading.strategy.base import Strategy
from algo_trading.strategy.indicators import CrossOver, Exact

__all__ = ["MovingAverageCrossover", "check_fast_slow"]


def check_fast_slow(strategy: str, fast: int, slow: int) -> None:
    if fast <= 0 or slow <= 0:
        raise ConfigError(f"{strategy}: fast ({fast}) and slow ({slow}) must be positive")
    if fast >= slow:
        raise ConfigError(f"{strategy}: fast ({fast}) must be below slow ({slow})")


class MovingAverageCrossover(Strategy):
    """Long when the fast average crosses above the slow one; flat (or short, with
    `allow_short`) when it crosses below. Market orders sized by `quantity`."""

    def average(self, period: int, symbol: str) -> Exact:
        raise NotImplementedError

    def on_start(self) -> None:
        p = self.params
        self.cross: dict[str, CrossOver] = {}
        for sym in self.symbols:
            fast, slow = self.average(p.fast, sym), self.average(p.slow, sym)
            self.cross[sym] = self.crossover(fast, slow, sym)

    def on_bar(self, bar: Bar) -> None:
        signal = self.cross[bar.symbol].value
        if signal == 0:
            return
        if signal > 0:
            self.target_position(self.quantity, bar.symbol)
        elif self.params.allow_short:
            self.target_position(-self.quantity, bar.symbol)
        else:
            self.target_position(0, bar.symbol)
