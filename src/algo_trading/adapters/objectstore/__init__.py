"""Object store adapters (the `ObjectStore` port): a local folder (the embedded default,
./var/objects) and S3 when ALGO_S3_BUCKET is set, which the data service wraps in a
`SpillingObjectStore` (to the local disk while S3 is away); `layout` names the seed's key layout."""

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
from algo_trading.adapters.objectstore.spill import DrainResult, SpillingObjectStore

__all__ = [
    "REPORT_PERIODS",
    "DrainResult",
    "LocalObjectStore",
    "RetryPolicy",
    "SpillingObjectStore",
    "archived_log_key",
    "backtest_key",
    "backtest_prefix",
    "historical_key",
    "live_day_prefix",
    "live_key",
    "report_key",
]
