"""Historical bars: file readers (CSV, Parquet) with strict checks."""

from algo_trading.adapters.history.bars import REQUIRED_COLUMNS, BarSeries, load_bars

__all__ = ["REQUIRED_COLUMNS", "BarSeries", "load_bars"]
