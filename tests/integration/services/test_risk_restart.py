"""The composition root keeps the risk state across a restart (issue #10 item 5): a kill
switch tripped in one life of `algo-trading trade` still holds in the next, before any
strategy runs, until a person resets it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from algo_trading.services.trading.service import TradingService
from tests.support.inprocess import (
    inprocess_config,
    inprocess_plugins,
    inprocess_settings,
    intent,
    running,
)

RISK = "[risk]\nmax_daily_loss_rupees = 5000\n"


def _life(tmp_path: Path) -> AbstractContextManager[TradingService]:
    """One life of the service, on the same database as the others."""
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-restart", RISK)
    return running(settings, config, inprocess_plugins(settings, config))


def _order(service: TradingService) -> str:
    coid = service.engine.submit(intent("sma-restart"))
    return service.engine.orders.orders[coid].reason


def test_a_kill_switch_holds_across_a_restart_of_the_service(tmp_path: Path) -> None:
    with _life(tmp_path) as first:
        first.engine.kill_switch("desk says stop", "ops")

    with _life(tmp_path) as second:
        assert second.engine.kill_switch_active
        assert _order(second).startswith("KILL_SWITCH")
        second.engine.reset_kill_switch("ops")

    with _life(tmp_path) as third:
        assert not third.engine.kill_switch_active
