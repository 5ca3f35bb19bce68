"""The risk manager built from a trade config (services/risk_setup.py): the account's [risk]
and each strategy's [strategies.risk] reach the manager exactly, and the manager refuses by
them."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from algo_trading.engine.risk import RiskLimits
from algo_trading.services.risk_setup import build_risk_manager
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import load_trade_config

TODAY = dt.date(2026, 12, 2)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def test_the_shipped_examples_limits_reach_the_manager() -> None:
    config = load_trade_config(REPO / "examples" / "paper.toml", today=TODAY, settings=Settings())
    manager = build_risk_manager(config, account="A1")
    assert manager.account == "A1"
    assert manager.account_limits.max_daily_loss_paise == 5_000_00
    assert manager.account_limits.max_price_distance_bps == 250
    assert manager.account_limits.breaker_rejections == 5
    assert manager.account_limits.trading_start == dt.time(9, 20)
    sma = manager.limits_for("sma-banks")
    assert (sma.max_daily_loss_paise, sma.max_open_orders) == (2_000_00, 3)
    assert (sma.trading_start, sma.trading_end) == (dt.time(9, 30), dt.time(15, 0))
    assert manager.limits_for("rsi-it") == RiskLimits()  # the account's limits only
    assert manager.limits_for("unknown") == RiskLimits()
    assert "DAILY_LOSS_LIMIT" in manager.kill_on
