"""The risk manager from a validated trade config (issue #10 item 5): the account's limits from
`[risk]`, each strategy's from its `[strategies.risk]`. The composition root calls this and hands
the manager to the `TradingEngine` (`risk_manager=`), with the notifier for its alerts."""

from __future__ import annotations

from collections.abc import Collection

from algo_trading.engine.risk import DEFAULT_KILL_ON, RiskLimits, RiskManager
from algo_trading.services.trade_config import TradeConfig

__all__ = ["build_risk_manager"]


def build_risk_manager(
    config: TradeConfig,
    *,
    account: str = "default",
    kill_on: Collection[str] = DEFAULT_KILL_ON,
    evaluate_interval_ns: int = 200_000_000,
) -> RiskManager:
    """`kill_on`: the account breaches that trip the kill switch by themselves (by default
    the daily loss limit and the drawdown). A strategy without limits of its own is held to
    the account's only."""
    strategies: dict[str, RiskLimits] = {s.id: s.risk for s in config.strategies}
    return RiskManager(
        config.risk,
        strategies,
        account=account,
        kill_on=kill_on,
        evaluate_interval_ns=evaluate_interval_ns,
    )
