"""The pre-trade risk hook and the kill switch's gate. Refusals are values with a stable code,
never exceptions.

The values and protocols live in `risk_types.py`, the rules in `risk_rules.py`, the manager
(limits, daily loss, drawdown, breaker) in `risk_manager.py`; every public name is importable
from here. The engine always asks orders through a `RiskGate`: the kill switch first, then the
checks it was given, then its `RiskManager`.
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.engine.risk_manager import DEFAULT_KILL_ON, Halt, RiskManager
from algo_trading.engine.risk_types import (
    ACCOUNT,
    ALLOW,
    ExposureView,
    RiskAction,
    RiskActionKind,
    RiskCheck,
    RiskCode,
    RiskDecision,
    RiskLimits,
    RiskView,
)

__all__ = [
    "ACCOUNT",
    "ALLOW",
    "DEFAULT_KILL_ON",
    "AllowAll",
    "ExposureView",
    "Halt",
    "KillSwitchState",
    "NoDeliveryShort",
    "RiskAction",
    "RiskActionKind",
    "RiskChain",
    "RiskCheck",
    "RiskCode",
    "RiskDecision",
    "RiskGate",
    "RiskLimits",
    "RiskManager",
    "RiskView",
]


# Enum members read once: `OrderSide.BUY` in a function is a lookup through the enum's
# metaclass each time (about ten times a global's cost), on every order.
_SELL, _DELIVERY = OrderSide.SELL, ProductType.DELIVERY


class AllowAll:
    """Lets every order through (a backtest without limits)."""

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        return ALLOW


class RiskChain:
    """Asks each check in turn; the first refusal is the answer."""

    def __init__(self, *checks: RiskCheck) -> None:
        self.checks = checks

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        for c in self.checks:
            decision = c.check(order, view)
            if not decision.allowed:
                return decision
        return ALLOW


class NoDeliveryShort:
    """A DELIVERY (CNC) sell needs the shares: no naked short in the cash market, overnight or
    otherwise (SEBI short-selling framework, indian-market.md §5.4). Intraday shorts go through
    the INTRADAY product and are squared off by the broker's cut-off. Only the strategy's own
    DELIVERY book counts: an intraday long is no shares to deliver, and neither are another
    strategy's."""

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        if order.side is not _SELL or order.product is not _DELIVERY:
            return ALLOW
        sid, sym = order.strategy_id, order.symbol
        held = view.book_quantity(sid, sym, _DELIVERY)
        free = held - view.pending_quantity(sid, sym, _SELL, _DELIVERY)
        if order.quantity > free:
            return RiskDecision(
                False,
                "NO_DELIVERY_SHORT",
                f"sell {order.quantity} {order.symbol} as DELIVERY, {max(free, 0)} free to sell",
            )
        return ALLOW


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """Why everything stopped, who stopped it, when."""

    reason: str
    by: str
    since_ns: int


class RiskGate:
    """What the engine's order manager asks: refuses everything with KILL_SWITCH while the
    kill switch holds, then asks `inner` (the checks the engine was given) and `manager`.

    `exempt` is set by the engine around its own closing orders (square-off, flatten): they
    pass every check, the kill switch included, since they only take risk off."""

    __slots__ = ("exempt", "inner", "killed", "manager")

    def __init__(self, inner: RiskCheck, manager: RiskManager | None = None) -> None:
        self.inner = inner
        self.manager = manager
        self.killed: KillSwitchState | None = None
        self.exempt = False

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        if self.exempt:
            return ALLOW
        killed = self.killed
        if killed is not None:
            return RiskDecision(
                False,
                RiskCode.KILL_SWITCH.value,
                f"since {killed.since_ns} by {killed.by}: {killed.reason}",
            )
        decision = self.inner.check(order, view)
        if decision.allowed and self.manager is not None:
            return self.manager.check(order, view)
        return decision
