"""The historical driver, metrics and reports. It drives the engine; it trades nothing itself."""

from algo_trading.backtest.driver import BacktestConfig, BacktestRun, run_backtest
from algo_trading.backtest.metrics import Metrics, compute_metrics
from algo_trading.backtest.report import (
    RunLabels,
    metrics_of,
    render_text,
    summary,
    write_outputs,
)
from algo_trading.backtest.strategies import build_strategy, resolve_strategy
from algo_trading.backtest.synthetic import generate_bars, write_bars

__all__ = [
    "BacktestConfig",
    "BacktestRun",
    "Metrics",
    "RunLabels",
    "build_strategy",
    "compute_metrics",
    "generate_bars",
    "metrics_of",
    "render_text",
    "resolve_strategy",
    "run_backtest",
    "summary",
    "write_bars",
    "write_outputs",
]
