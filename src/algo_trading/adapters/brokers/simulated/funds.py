"""Buying power at placement, as Angel One's RMS judges it (indian-market.md §6.1, §6.6):
an order that opens more exposure than the account can carry is refused with
`INSUFFICIENT_FUNDS`, like the real broker's rejection.

Funds available for a new order are:
* the cash ledger: cash after every fill and its charges (in a backtest the engine's books,
  which book this venue's fills with the run's charges schedule);
* plus, for each open leveraged position (intraday equity, F&O), its cost back and its margin
  off: the ledger paid (or got) the whole value, the broker blocks only the margin; an
  unrealised loss on it counts against the funds, an unrealised gain is not lent against;
* less the margin blocked by working orders for the exposure they would open.

What an order needs: nothing for the part that reduces its product's position (a closing order,
a square-off or a stop-loss exit is never refused for funds) and nothing for a DELIVERY sell
(the shares pay for it; a sell of shares not held is refused by the risk chain, not here);
otherwise the margin per cent of `market.margins` on the opening quantity at the order's price:
the limit, the stop's trigger, or for a market order the last price this venue has seen
(none seen yet: the order cannot be judged and is let through).

Not modelled (said so rather than guessed): the 50 % cash share of margin, the 80 % reuse of
same-day sale proceeds, collateral from pledged holdings, a market order's price-protection
buffer, and charges not yet booked (the charges model books a round trip's charges when it
closes, so an entry may use the last rupees that its own charges will later take).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument, InstrumentType
from algo_trading.domain.orders import OrderSide, OrderSnapshot, OrderType, ProductType
from algo_trading.market.margins import MarginRates, margin_pct

__all__ = ["INSUFFICIENT_FUNDS", "BuyingPower", "PriceMarks"]

INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
_BUY = OrderSide.BUY
_MARKET, _SL_MARKET = OrderType.MARKET, OrderType.STOPLOSS_MARKET  # read once: slow lookups


class PriceMarks(Protocol):
    """The last price seen of each symbol, None for one not seen yet (a dict will do)."""

    def get(self, symbol: str, /) -> int | None: ...


class _Book:
    """One (symbol, product) position as the broker's RMS follows it, with the margin rules
    of its instrument and product worked out once."""

    __slots__ = (
        "cost",
        "pct",
        "pct_buy",
        "pct_sell",
        "quantity",
        "sell_free",
        "short_strike",
        "symbol",
    )

    def __init__(self, rates: MarginRates, instrument: Instrument, product: ProductType) -> None:
        self.symbol = instrument.symbol
        self.quantity = 0
        self.cost = 0  # sum over open lots of price x signed quantity
        self.pct = 100  # the per cent of the open position
        self.pct_buy = margin_pct(rates, instrument, product, True)
        self.pct_sell = margin_pct(rates, instrument, product, False)
        # A DELIVERY sell of shares is paid by the shares (a naked one is the risk chain's).
        self.sell_free = (
            product is ProductType.DELIVERY and instrument.instrument_type is InstrumentType.EQUITY
        )
        self.short_strike = (
            instrument.strike_paise if instrument.instrument_type is InstrumentType.OPTION else None
        )

    def margin(self) -> int:
        """Margin this open position blocks: its per cent of its entry value (a short option:
        of its strike value)."""
        q = self.quantity
        value = -q * self.short_strike if q < 0 and self.short_strike else abs(self.cost)
        return -(-value * self.pct // 100)

    def apply(self, signed: int, price: int, pct: int) -> None:
        q = self.quantity
        if q == 0 or (q > 0) == (signed > 0):
            if q == 0:
                self.pct = pct
            self.cost += signed * price
            self.quantity = q + signed
            return
        left = q + signed
        if left == 0 or (left > 0) == (q > 0):  # reduced, not flipped
            self.cost = self.cost * left // q
        else:  # through zero: a new position at this price
            self.cost = left * price
            self.pct = pct
        self.quantity = left


class _Working:
    """A working order as the RMS counts it: its book, and the margin its opening part blocks."""

    __slots__ = ("book", "is_buy", "pct", "per_unit", "units")

    def __init__(self, book: _Book, is_buy: bool, pct: int, units: int, per_unit: int) -> None:
        self.book = book
        self.is_buy = is_buy
        self.pct = pct
        self.units = units  # units still to fill that open exposure
        self.per_unit = per_unit  # margin per unit, times 100

    def blocked(self) -> int:
        return -(-self.units * self.per_unit // 100)


class BuyingPower:
    """The placement check and the books it needs; the broker tells it every fill and every
    order that is done."""

    __slots__ = ("_books", "_cash", "_marks", "_orders", "rates")

    def __init__(self, rates: MarginRates, cash: Callable[[], int], marks: PriceMarks) -> None:
        self.rates = rates
        self._cash = cash
        self._marks = marks  # symbol -> last price seen, kept up to date by the venue's driver
        self._books: dict[tuple[str, ProductType], _Book] = {}
        self._orders: dict[ClientOrderId, _Working] = {}

    def free_paise(self) -> int:
        """Funds available for a new order (see the module's docstring)."""
        free = self._cash()
        marks = self._marks
        for book in self._books.values():
            q = book.quantity
            if q == 0 or book.pct == 100:
                continue
            free += book.cost - book.margin()
            mark = marks.get(book.symbol)
            if mark is not None:
                free += min(0, q * mark - book.cost)
        for working in self._orders.values():
            if working.units:
                free -= working.blocked()
        return free

    def refusal(self, order: OrderSnapshot, instrument: Instrument) -> str:
        """'' when the account can carry the order (it is then counted as working), else the
        INSUFFICIENT_FUNDS reason with the figures."""
        is_buy = order.side is _BUY
        key = (order.symbol, order.product)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = _Book(self.rates, instrument, order.product)
        held = book.quantity
        qty = order.quantity
        opening = max(qty - abs(held), 0) if held and (held > 0) != is_buy else qty
        pct = book.pct_buy if is_buy else book.pct_sell
        kind = order.order_type
        if kind is _MARKET:
            price = self._marks.get(order.symbol)
        elif kind is _SL_MARKET:
            price = order.trigger_price_paise
        else:
            price = order.price_paise
        if opening == 0 or price is None or (book.sell_free and not is_buy):
            self._orders[order.client_order_id] = _Working(book, is_buy, pct, 0, 0)
            return ""
        if not is_buy and book.short_strike:
            price = book.short_strike  # a short option's margin follows the underlying
        per_unit = price * pct
        need = -(-opening * per_unit // 100)
        free = self.free_paise()
        if need > free:
            return (
                f"{INSUFFICIENT_FUNDS}: {order.side.value} {qty} {order.symbol} "
                f"{order.product.value} needs {need} paise, {max(free, 0)} paise available"
            )
        self._orders[order.client_order_id] = _Working(book, is_buy, pct, opening, per_unit)
        return ""

    def change_refusal(
        self,
        client_order_id: ClientOrderId,
        order_type: OrderType,
        remaining: int,
        price_paise: int | None,
        trigger_price_paise: int | None,
    ) -> str:
        """A working order's new terms judged as a placement would judge them: '' when the
        account can carry them (its block then follows them), else the INSUFFICIENT_FUNDS
        reason, and the old terms and block stand. `remaining` is what would be left to fill,
        the prices the order's limit and trigger after the change. Only what the change adds
        to the order's block must fit in the funds: a change that blocks no more (a lower
        quantity or price) is never refused, as the broker's RMS asks no new margin for it."""
        working = self._orders.get(client_order_id)
        if working is None:
            return ""  # not counted (placed before funds were followed): nothing to judge
        book, is_buy = working.book, working.is_buy
        held = book.quantity
        opening = max(remaining - abs(held), 0) if held and (held > 0) != is_buy else remaining
        if order_type is _MARKET:
            price = self._marks.get(book.symbol)
        elif order_type is _SL_MARKET:
            price = trigger_price_paise
        else:
            price = price_paise
        if opening == 0 or price is None or (book.sell_free and not is_buy):
            working.units, working.per_unit = 0, 0
            return ""
        if not is_buy and book.short_strike:
            price = book.short_strike
        per_unit = price * working.pct
        need = -(-opening * per_unit // 100)
        extra = need - working.blocked()
        if extra > 0:
            free = self.free_paise()
            if extra > free:
                side = "BUY" if is_buy else "SELL"
                return (
                    f"{INSUFFICIENT_FUNDS}: {side} {remaining} {book.symbol} as changed needs "
                    f"{need} paise, {max(free + working.blocked(), 0)} paise available"
                )
        working.units, working.per_unit = opening, per_unit
        return ""

    def filled(self, client_order_id: ClientOrderId, quantity: int, price_paise: int) -> None:
        working = self._orders.get(client_order_id)
        if working is None:
            return
        working.book.apply(quantity if working.is_buy else -quantity, price_paise, working.pct)
        if working.units:
            working.units = max(working.units - quantity, 0)

    def done(self, client_order_id: ClientOrderId) -> None:
        """The order is no longer working (filled, cancelled, expired): its block is freed."""
        self._orders.pop(client_order_id, None)
