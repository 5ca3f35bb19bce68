"""Cash and positions, exact. Invariant: cash + Σ quantity × last price
= starting cash + realized P&L + unrealized P&L − charges, to the paisa."""

from __future__ import annotations

from algo_trading.domain.fills import Fill
from algo_trading.domain.positions import Position, RoundTrip

__all__ = ["Portfolio"]


class Portfolio:
    __slots__ = ("cash", "charges_paid", "positions", "starting_cash")

    def __init__(self, starting_cash_paise: int) -> None:
        self.starting_cash = starting_cash_paise
        self.cash = starting_cash_paise
        self.charges_paid = 0
        self.positions: dict[str, Position] = {}

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def apply_fill(self, fill: Fill) -> int:
        """Book a fill; returns the P&L it realized."""
        signed = fill.signed_quantity
        # The position refuses a bad fill before anything changes; cash follows it, not leads.
        realized = self.position(fill.symbol).apply_fill(
            signed, fill.price_paise, fill.ts_ns, fill.charges_paise
        )
        self.cash -= signed * fill.price_paise + fill.charges_paise
        self.charges_paid += fill.charges_paise
        return realized

    def mark(self, symbol: str, price_paise: int) -> None:
        pos = self.positions.get(symbol)
        if pos is not None:
            pos.last_price_paise = price_paise

    def market_value(self) -> int:
        return sum(p.quantity * p.last_price_paise for p in self.positions.values())

    def equity(self) -> int:
        return self.cash + self.market_value()

    def realized(self) -> int:
        return sum(p.realized_pnl_paise for p in self.positions.values())

    def unrealized(self) -> int:
        return sum(p.unrealized_pnl_paise for p in self.positions.values())

    def round_trips(self) -> list[RoundTrip]:
        trips = [t for p in self.positions.values() for t in p.round_trips]
        trips.sort(key=lambda t: (t.exit_ns, t.symbol))
        return trips
