"""Historical bars: file readers (CSV, Parquet) with strict checks, and the Parquet history
store (issue #11)."""

from algo_trading.adapters.history.bars import REQUIRED_COLUMNS, BarSeries, load_bars
from algo_trading.adapters.history.store import ParquetBarStore

__all__ = ["REQUIRED_COLUMNS", "BarSeries", "ParquetBarStore", "load_bars"]
