"""The strategy API: the base class, what a strategy may ask of the engine, indicators, and the
built-in strategies."""

from algo_trading.strategy.base import Strategy
from algo_trading.strategy.builtin import BUILTIN_STRATEGIES
from algo_trading.strategy.context import StrategyContext
from algo_trading.strategy.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    VWAP,
    Bollinger,
    CrossOver,
    Supertrend,
    compare,
)
from algo_trading.strategy.params import NoParams, describe_params, parse_params

__all__ = [
    "ATR",
    "BUILTIN_STRATEGIES",
    "EMA",
    "RSI",
    "SMA",
    "VWAP",
    "Bollinger",
    "CrossOver",
    "NoParams",
    "Strategy",
    "StrategyContext",
    "Supertrend",
    "compare",
    "describe_params",
    "parse_params",
]
