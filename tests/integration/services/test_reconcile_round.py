"""One reconciliation round a minute (issue #10 item 4): the service built by the composition
root reads the broker's order book once per minute for the adapter's orders in doubt and the
database's orders, fills and positions together, never in two passes side by side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from algo_trading.services.bootstrap import build_trading_service
from tests.support.inprocess import inprocess_config, inprocess_plugins, inprocess_settings


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_minute_is_one_reconciliation_round_against_the_broker(tmp_path: Path) -> None:
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-round")
    plugins = inprocess_plugins(settings, config)
    mono = FakeMonotonic()
    plugins.monotonic = mono
    service = build_trading_service(settings, config, plugins)
    session: Any = service.broker.session  # type: ignore[attr-defined]
    calls: Counter[str] = Counter()
    real_call = session.call

    def counting(name: str, body: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        calls[name] += 1
        return real_call(name, body, **kw)

    session.call = counting
    service.start()
    try:
        # at start, before any strategy: the books were read (the start-up recovery)
        assert calls["order_book"] >= 1
        assert service.order_stream is not None
        assert service.order_stream.connected.wait(20)  # no order-book polling instead
        service.turn(0.0)
        calls.clear()
        mono.now += 61.0  # one minute later
        service.turn(0.0)
        assert service.counters.reconciliations == 1
        assert calls["order_book"] == 1, calls
        assert calls["trade_book"] == 1, calls
        assert calls["positions"] == 1, calls
        calls.clear()
        mono.now += 30.0  # within the minute: nothing
        service.turn(0.0)
        assert calls["order_book"] == 0, calls
    finally:
        service.drain(timeout_s=5)
        service.close()
