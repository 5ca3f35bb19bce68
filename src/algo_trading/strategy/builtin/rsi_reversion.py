"""RSI mean reversion: buy when RSI(period) falls below `oversold`, sell when it rises back
above `exit_level`; with `allow_short`, the mirror above `overbought`. Levels compare exactly.

Parameters: `period` (14), `oversold` (30), `overbought` (70), `exit_level` (50),
`allow_short` (false).
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar
from algo_trading.strategy.base import Strategy
from algo_trading.strategy.indicators import RSI

__all__ = ["RsiReversion", "RsiReversionParams"]


@dataclass(frozen=True)
class RsiReversionParams:
    period: int = 14
    oversold: int = 30
    overbought: int = 70
    exit_level: int = 50
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.period <= 1:
            raise ConfigError(f"rsi_reversion: period {self.period} must be above 1")
        if not 0 < self.oversold < self.exit_level < self.overbought < 100:
            raise ConfigError(
                "rsi_reversion: need 0 < oversold < exit_level < overbought < 100, got "
                f"{self.oversold}, {self.exit_level}, {self.overbought}"
            )


class RsiReversion(Strategy):
    name = "rsi_reversion"
    Params = RsiReversionParams

    def on_start(self) -> None:
        self.rsis: dict[str, RSI] = {s: self.rsi(self.params.period, s) for s in self.symbols}

    def on_bar(self, bar: Bar) -> None:
        rsi = self.rsis[bar.symbol]
        if not rsi.ready:
            return
        p: RsiReversionParams = self.params
        pos = self.position(bar.symbol)
        if pos == 0:
            if rsi.below(p.oversold):
                self.target_position(self.quantity, bar.symbol)
            elif p.allow_short and rsi.above(p.overbought):
                self.target_position(-self.quantity, bar.symbol)
        elif (pos > 0 and rsi.above(p.exit_level)) or (pos < 0 and rsi.below(p.exit_level)):
            self.close(bar.symbol)
