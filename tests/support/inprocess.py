"""The trading service as `algo-trading trade` builds it, over an in-process simulator
(`kind = "inprocess"`), for the services' integration tests: one strategy on SBIN-EQ, a fixed
config day, the market always open and no warm-up, so a test starts trading at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType, Validity
from algo_trading.services.bootstrap import Plugins, build_trading_service, default_plugins
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import TradeConfig, parse_trade_config
from algo_trading.services.trading import TradingService
from tests.support.alerts import RecordingNotifier

__all__ = [
    "inprocess_config",
    "inprocess_plugins",
    "inprocess_settings",
    "intent",
    "running",
]

_CONFIG = """
mode = "paper"
[broker]
kind = "inprocess"
[[strategies]]
id = "{strategy_id}"
strategy = "sma_crossover"
symbols = ["SBIN-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
"""


def inprocess_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """SQLite in `tmp_path` unless `database_url` is given; health on a free port."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "health_port": 0,
        "market_always_open": True,
        "warm_up": False,
    }
    values.update(overrides)
    return Settings(**values)


def inprocess_config(
    settings: Settings, tmp_path: Path, strategy_id: str, extra: str = ""
) -> TradeConfig:
    """The one-strategy config, plus `extra` TOML (a `[risk]` table, say). A cash stock is in
    the simulator's master on any day: a fixed day checks the config."""
    return parse_trade_config(
        _CONFIG.format(strategy_id=strategy_id) + extra,
        source=f"{strategy_id}.toml",
        base_dir=tmp_path,
        today=dt.date(2025, 11, 4),
        settings=settings,
    )


def inprocess_plugins(settings: Settings, config: TradeConfig) -> Plugins:
    """`default_plugins`, as `trade` uses them, with alerts recorded instead of sent."""
    plugins = default_plugins(settings, config)
    plugins.notifier = RecordingNotifier()
    return plugins


@contextmanager
def running(settings: Settings, config: TradeConfig, plugins: Plugins) -> Iterator[TradingService]:
    """The service built and started, then drained and closed whatever the test did."""
    service = build_trading_service(settings, config, plugins)
    service.start()
    try:
        yield service
    finally:
        service.drain(timeout_s=5)
        service.close()


def intent(
    strategy_id: str,
    quantity: int = 1,
    *,
    side: OrderSide = OrderSide.BUY,
    limit_paise: int | None = None,
) -> OrderIntent:
    """An intraday order for SBIN-EQ: at market, or a limit at `limit_paise`."""
    return OrderIntent(
        strategy_id,
        "SBIN-EQ",
        side,
        quantity,
        OrderType.MARKET if limit_paise is None else OrderType.LIMIT,
        limit_paise,
        None,
        ProductType.INTRADAY,
        Validity.DAY,
    )
