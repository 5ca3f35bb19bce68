"""The built-in strategies, by the name the CLI knows them under."""

from __future__ import annotations

from algo_trading.strategy.base import Strategy
from algo_trading.strategy.builtin.ema_crossover import EmaCrossover
from algo_trading.strategy.builtin.opening_range_breakout import OpeningRangeBreakout
from algo_trading.strategy.builtin.rsi_reversion import RsiReversion
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover
from algo_trading.strategy.builtin.supertrend import SupertrendFollow
from algo_trading.strategy.builtin.vwap_reversion import VwapReversion

__all__ = [
    "BUILTIN_STRATEGIES",
    "EmaCrossover",
    "OpeningRangeBreakout",
    "RsiReversion",
    "SmaCrossover",
    "SupertrendFollow",
    "VwapReversion",
]

BUILTIN_STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        SmaCrossover,
        EmaCrossover,
        RsiReversion,
        OpeningRangeBreakout,
        VwapReversion,
        SupertrendFollow,
    )
}
