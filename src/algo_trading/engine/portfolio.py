"""Cash and positions, exact. Invariant: cash + Σ quantity × last price
= starting cash + realized P&L + unrealized P&L − charges, to the paisa.

Positions are books keyed as the database keys them: (account, strategy, symbol, exchange,
product). An intraday short beside a delivery holding of one symbol are two books, each with
its own lots, P&L and round trips; a strategy's net quantity in a symbol is their sum.
"""

from __future__ import annotations

from typing import NamedTuple

from algo_trading.domain.fills import Fill
from algo_trading.domain.orders import OrderSide, ProductType
from algo_trading.domain.positions import Position, RoundTrip

__all__ = ["BookKey", "Portfolio"]

_BUY = OrderSide.BUY


class BookKey(NamedTuple):
    """One position book, as `positions` rows are keyed (adapters/storage/sql/models.py)."""

    account: str
    strategy_id: str
    symbol: str
    exchange: str
    product: ProductType


class Portfolio:
    __slots__ = (
        "account",
        "books",
        "by_symbol",
        "by_tuple",
        "cash",
        "charges_paid",
        "net",
        "starting_cash",
    )

    def __init__(self, starting_cash_paise: int, account: str = "default") -> None:
        self.account = account
        self.starting_cash = starting_cash_paise
        self.cash = starting_cash_paise
        self.charges_paid = 0
        self.books: dict[BookKey, Position] = {}
        # The same dict, for lookups by a plain tuple (equal to its BookKey, of equal hash):
        # the fill path and the strategies' reads need not build a BookKey each time.
        self.by_tuple: dict[tuple[str, str, str, str, ProductType], Position] = self.books  # type: ignore[assignment]
        # symbol -> its books (marked together on each bar or tick)
        self.by_symbol: dict[str, list[Position]] = {}
        # strategy id -> symbol -> net quantity over that strategy's books (read every bar)
        self.net: dict[str, dict[str, int]] = {}

    def key(self, fill: Fill, exchange: str) -> BookKey:
        return BookKey(self.account, fill.strategy_id, fill.symbol, exchange, fill.product)

    def book(self, key: BookKey) -> Position:
        pos = self.books.get(key)
        if pos is None:
            pos = self.books[key] = Position(key.symbol)
            marks = self.by_symbol.setdefault(key.symbol, [])
            if marks:
                pos.last_price_paise = marks[0].last_price_paise
            marks.append(pos)
        return pos

    def net_of(self, strategy_id: str) -> dict[str, int]:
        """The live net-quantity map of one strategy (the engine hands it to the strategy's
        context once, so a per-bar position read is one dict lookup)."""
        net = self.net.get(strategy_id)
        if net is None:
            net = self.net[strategy_id] = {}
        return net

    def quantity(self, key: BookKey) -> int:
        pos = self.books.get(key)
        return 0 if pos is None else pos.quantity

    def symbol_quantity(self, symbol: str) -> int:
        """Net quantity of the account in `symbol`, over every strategy and product."""
        return sum(p.quantity for p in self.by_symbol.get(symbol, ()))

    def apply_fill(self, fill: Fill, exchange: str = "NSE") -> int:
        """Book a fill on its book; returns the P&L it realized."""
        signed = fill.quantity if fill.side is _BUY else -fill.quantity  # signed_quantity
        sid, symbol = fill.strategy_id, fill.symbol
        pos = self.by_tuple.get((self.account, sid, symbol, exchange, fill.product))
        if pos is None:
            pos = self.book(self.key(fill, exchange))
        # The position refuses a bad fill before anything changes; cash follows it, not leads.
        realized = pos.apply_fill(signed, fill.price_paise, fill.ts_ns, fill.charges_paise)
        net = self.net.get(sid)
        if net is None:
            net = self.net_of(sid)
        net[symbol] = net.get(symbol, 0) + signed
        self.cash -= signed * fill.price_paise + fill.charges_paise
        self.charges_paid += fill.charges_paise
        return realized

    def mark(self, symbol: str, price_paise: int) -> None:
        for pos in self.by_symbol.get(symbol, ()):
            pos.last_price_paise = price_paise

    def market_value(self) -> int:
        return sum(p.quantity * p.last_price_paise for p in self.books.values())

    def equity(self) -> int:
        return self.cash + self.market_value()

    def realized(self) -> int:
        return sum(p.realized_pnl_paise for p in self.books.values())

    def unrealized(self) -> int:
        return sum(p.unrealized_pnl_paise for p in self.books.values())

    def round_trips(self) -> list[RoundTrip]:
        trips = [t for p in self.books.values() for t in p.round_trips]
        trips.sort(key=lambda t: (t.exit_ns, t.symbol))
        return trips
