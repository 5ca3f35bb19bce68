"""Object store adapters (the `ObjectStore` port): a local folder (the embedded default,
./var/objects) and S3 when ALGO_S3_BUCKET is set; `layout` names the seed's key layout."""

from algo_trading.adapters.objectstore.layout import (
    REPORT_PERIODS,
    archived_log_key,
    backtest_key,
    backtest_prefix,
    historical_key,
    live_day_prefix,
    live_key,
    report_key,
)
from algo_trading.adapters.objectstore.local import LocalObjectStore
from algo_trading.adapters.objectstore.retrying import RetryPolicy

__all__ = [
    "REPORT_PERIODS",
    "LocalObjectStore",
    "RetryPolicy",
    "archived_log_key",
    "backtest_key",
    "backtest_prefix",
    "historical_key",
    "live_day_prefix",
    "live_key",
    "report_key",
]
