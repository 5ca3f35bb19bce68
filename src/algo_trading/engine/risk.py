"""The pre-trade risk hook. Refusals are values with a stable code, never exceptions.

The full risk manager (limits, daily loss, kill switch) comes with the trading service; the
engine already asks every order through this hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from algo_trading.domain.orders import Order

__all__ = ["ALLOW", "AllowAll", "RiskCheck", "RiskDecision", "RiskView"]


@dataclass(frozen=True, slots=True)
class RiskDecision:
    allowed: bool
    code: str = "OK"
    detail: str = ""

    def __str__(self) -> str:
        return self.code if not self.detail else f"{self.code}: {self.detail}"


ALLOW = RiskDecision(True)


class RiskView(Protocol):
    """What a risk check may read of the portfolio."""

    def position_quantity(self, symbol: str) -> int: ...

    def cash_paise(self) -> int: ...

    def equity_paise(self) -> int: ...


class RiskCheck(Protocol):
    def check(self, order: Order, view: RiskView) -> RiskDecision: ...


class AllowAll:
    """Lets every order through (a backtest without limits)."""

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        return ALLOW
