"""The trading service: the loop (`service.py`), bars from ticks (`bars.py`), the market feed
(`feed.py`), start-up reconciliation (`startup.py`) and the metered trade log."""

from algo_trading.services.trading.bars import BarBuilder, aggregate_candles
from algo_trading.services.trading.feed import MarketFeed
from algo_trading.services.trading.service import (
    CommandProcessor,
    ServiceOptions,
    StrategyPlan,
    TradingService,
)
from algo_trading.services.trading.startup import reconcile_at_start, startup_reconciliation

__all__ = [
    "BarBuilder",
    "CommandProcessor",
    "MarketFeed",
    "ServiceOptions",
    "StrategyPlan",
    "TradingService",
    "aggregate_candles",
    "reconcile_at_start",
    "startup_reconciliation",
]
