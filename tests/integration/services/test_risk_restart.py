"""The composition root keeps the risk state across a restart (issue #10 item 5): a kill
switch tripped in one life of `algo-trading trade` still holds in the next, before any
strategy runs, until a person resets it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType, Validity
from algo_trading.services.bootstrap import build_trading_service, default_plugins
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import parse_trade_config
from algo_trading.services.trading.service import TradingService
from tests.support.alerts import RecordingNotifier

CONFIG = """
mode = "paper"
[broker]
kind = "inprocess"
[[strategies]]
id = "sma-restart"
strategy = "sma_crossover"
symbols = ["SBIN-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
[risk]
max_daily_loss_rupees = 5000
"""


def _service(tmp_path: Path) -> TradingService:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        health_port=0,
        market_always_open=True,
        warm_up=False,
    )
    config = parse_trade_config(
        CONFIG, source="r.toml", base_dir=tmp_path, today=dt.date(2025, 11, 4), settings=settings
    )
    plugins = default_plugins(settings, config)
    plugins.notifier = RecordingNotifier()
    return build_trading_service(settings, config, plugins)


def _order(service: TradingService) -> str:
    intent = OrderIntent(
        "sma-restart",
        "SBIN-EQ",
        OrderSide.BUY,
        1,
        OrderType.MARKET,
        None,
        None,
        ProductType.INTRADAY,
        Validity.DAY,
    )
    coid = service.engine.submit(intent)
    return service.engine.orders.orders[coid].reason


def test_a_kill_switch_holds_across_a_restart_of_the_service(tmp_path: Path) -> None:
    first = _service(tmp_path)
    first.start()
    try:
        first.engine.kill_switch("desk says stop", "ops")
    finally:
        first.drain(timeout_s=5)
        first.close()

    second = _service(tmp_path)
    second.start()
    try:
        assert second.engine.kill_switch_active
        assert _order(second).startswith("KILL_SWITCH")
        second.engine.reset_kill_switch("ops")
    finally:
        second.drain(timeout_s=5)
        second.close()

    third = _service(tmp_path)
    third.start()
    try:
        assert not third.engine.kill_switch_active
    finally:
        third.drain(timeout_s=5)
        third.close()
