"""Supertrend trend-following: long when the Supertrend(period, multiplier) turns up; flat
(or short, with `allow_short`) when it turns down.

Parameters: `period` (10), `multiplier` (3; a decimal such as 2.5 is exact), `allow_short`
(false).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar
from algo_trading.strategy.base import Strategy
from algo_trading.strategy.indicators import Supertrend

__all__ = ["SupertrendFollow", "SupertrendParams"]


@dataclass(frozen=True)
class SupertrendParams:
    period: int = 10
    multiplier: Decimal = Decimal(3)
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.period <= 0:
            raise ConfigError(f"supertrend: period {self.period} must be positive")
        if self.multiplier <= 0:
            raise ConfigError(f"supertrend: multiplier {self.multiplier} must be positive")


class SupertrendFollow(Strategy):
    name = "supertrend"
    Params = SupertrendParams

    def on_start(self) -> None:
        p: SupertrendParams = self.params
        self.trends = {s: self.supertrend(p.period, p.multiplier, s) for s in self.symbols}

    def on_bar(self, bar: Bar) -> None:
        st: Supertrend = self.trends[bar.symbol]
        if not st.flipped:
            return
        if st.direction > 0:
            self.target_position(self.quantity, bar.symbol)
        elif self.params.allow_short:
            self.target_position(-self.quantity, bar.symbol)
        else:
            self.target_position(0, bar.symbol)
