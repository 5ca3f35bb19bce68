"""The day's price bands come from the broker (issue #10 item 5): at start the service reads
each traded symbol's circuit limits from the quote API in FULL mode, and an order priced
outside the band is refused with PRICE_BAND before it reaches the broker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType, Validity
from algo_trading.services.bootstrap import build_trading_service, default_plugins
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import parse_trade_config
from tests.support.alerts import RecordingNotifier

CONFIG = """
mode = "paper"
[broker]
kind = "inprocess"
[[strategies]]
id = "sma-band"
strategy = "sma_crossover"
symbols = ["SBIN-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
[risk]
max_order_quantity = 100
"""


def _limit(price_paise: int) -> OrderIntent:
    return OrderIntent(
        "sma-band",
        "SBIN-EQ",
        OrderSide.BUY,
        1,
        OrderType.LIMIT,
        price_paise,
        None,
        ProductType.INTRADAY,
        Validity.DAY,
    )


def test_the_bands_are_read_from_the_broker_at_start_and_refuse_an_order_outside(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        health_port=0,
        market_always_open=True,
        warm_up=False,
    )
    config = parse_trade_config(
        CONFIG, source="b.toml", base_dir=tmp_path, today=dt.date(2025, 11, 4), settings=settings
    )
    plugins = default_plugins(settings, config)
    plugins.notifier = RecordingNotifier()
    service = build_trading_service(settings, config, plugins)
    service.start()
    try:
        manager = service.engine.risk_manager
        assert manager is not None
        band = manager.price_bands.get("SBIN-EQ")
        assert band is not None, "no band read from the simulator's quote"
        assert 0 < band.lower_paise < band.upper_paise
        placed = service.broker.place_requests  # type: ignore[attr-defined]
        engine = service.engine
        tick = engine.instrument("SBIN-EQ").tick_size_paise
        above = engine.submit(_limit(band.upper_paise + tick))
        below = engine.submit(_limit(band.lower_paise - tick))
        for coid in (above, below):
            order = engine.orders.orders[coid]
            assert order.status.value == "REJECTED"
            assert order.reason.startswith("PRICE_BAND"), order.reason
        engine.drain()
        assert service.broker.place_requests == placed  # type: ignore[attr-defined]
    finally:
        service.drain(timeout_s=5)
        service.close()
