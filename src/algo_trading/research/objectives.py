"""What a sweep maximises, read off the backtester's metrics. A metric that is undefined for a
run (no trades, no volatility) ranks that run last, never first."""

from __future__ import annotations

import math
from collections.abc import Callable

from algo_trading.backtest.metrics import Metrics
from algo_trading.domain.errors import ConfigError

__all__ = ["OBJECTIVES", "objective_value"]


def _calmar(m: Metrics) -> float | None:
    if m.cagr is None or m.max_drawdown <= 0:
        return None
    return m.cagr / m.max_drawdown


OBJECTIVES: dict[str, Callable[[Metrics], float | None]] = {
    "sharpe": lambda m: m.sharpe,
    "sortino": lambda m: m.sortino,
    "return": lambda m: m.total_return,
    "cagr": lambda m: m.cagr,
    "calmar": _calmar,
    "profit_factor": lambda m: m.profit_factor,
    "net_pnl": lambda m: float(m.net_pnl_paise),
    "win_rate": lambda m: m.win_rate,
}


def objective_value(name: str, metrics: Metrics) -> float:
    """The objective as a float; -inf when undefined, so it sorts last."""
    try:
        fn = OBJECTIVES[name]
    except KeyError:
        raise ConfigError(
            f"--objective {name!r} is unknown (known: {', '.join(OBJECTIVES)})"
        ) from None
    value = fn(metrics)
    if value is None or not math.isfinite(value):
        return -math.inf
    return float(value)
