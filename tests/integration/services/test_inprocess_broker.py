"""`kind = "inprocess"`: the service starts a simulator inside its own process, trades against
it over loopback like any simulator, and stops it when it stops."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from algo_trading.services.bootstrap import Plugins, build_trading_service
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import parse_trade_config
from tests.support.alerts import RecordingNotifier

CONFIG = """
mode = "paper"
[broker]
kind = "inprocess"
[[strategies]]
id = "sma-inproc"
strategy = "sma_crossover"
symbols = ["SBIN-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
"""


def test_an_inprocess_broker_is_a_simulator_in_this_process_started_and_stopped_with_it(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        health_port=0,
        market_always_open=True,
        warm_up=False,
    )
    # A cash stock is in the simulator's master on any day: a fixed day checks the config.
    config = parse_trade_config(
        CONFIG,
        source="inproc.toml",
        base_dir=tmp_path,
        today=dt.date(2025, 11, 4),
        settings=settings,
    )
    service = build_trading_service(settings, config, Plugins(notifier=RecordingNotifier()))
    service.start()
    try:
        deadline = time.monotonic() + 30
        while service.counters.ticks == 0 and time.monotonic() < deadline:
            service.turn(0.1)
        assert service.counters.ticks > 0
        assert service.may_trade("sma-inproc")
    finally:
        service.drain(timeout_s=5)
        service.close()
    assert service.stopped.is_set()
