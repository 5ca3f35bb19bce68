"""The pre-trade risk hook. Refusals are values with a stable code, never exceptions.

The full risk manager (limits, daily loss, kill switch) comes with the trading service; the
engine already asks every order through this hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from algo_trading.domain.orders import Order, OrderSide, ProductType

__all__ = [
    "ALLOW",
    "AllowAll",
    "NoDeliveryShort",
    "RiskChain",
    "RiskCheck",
    "RiskDecision",
    "RiskView",
]


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

    def position_quantity(self, symbol: str) -> int:
        """The account's net quantity in `symbol`, over every strategy and product."""
        ...

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        """The quantity of one book: this strategy's position in `symbol` under `product`."""
        ...

    def cash_paise(self) -> int: ...

    def equity_paise(self) -> int: ...

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        """Units still to fill on this strategy's working orders of that side and product."""
        ...


class RiskCheck(Protocol):
    def check(self, order: Order, view: RiskView) -> RiskDecision: ...


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
        if order.side is not OrderSide.SELL or order.product is not ProductType.DELIVERY:
            return ALLOW
        sid, sym = order.strategy_id, order.symbol
        held = view.book_quantity(sid, sym, ProductType.DELIVERY)
        free = held - view.pending_quantity(sid, sym, OrderSide.SELL, ProductType.DELIVERY)
        if order.quantity > free:
            return RiskDecision(
                False,
                "NO_DELIVERY_SHORT",
                f"sell {order.quantity} {order.symbol} as DELIVERY, {max(free, 0)} free to sell",
            )
        return ALLOW
