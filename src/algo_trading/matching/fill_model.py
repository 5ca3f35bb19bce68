"""The fill model every simulated venue shares: the backtest's broker, the paper broker and the
Angel One simulator match orders here, so they agree by construction.

Rules on a bar (the order must have been placed before the bar opened; no look-ahead):
* MARKET fills at the bar's open, `slippage_ticks` ticks worse.
* LIMIT buy at L: open <= L fills at the open (a gap in our favour); else low <= L fills at L.
  Sells mirror it. Limits get no slippage: the price is the price we asked for.
* STOPLOSS_MARKET buy with trigger S: open >= S fills at the open (a gap through the stop);
  else high >= S fills at S; both with slippage. Sells mirror it.
* STOPLOSS_LIMIT buy (trigger S, limit L): triggered at the open when open >= S, then it is a
  limit at L for the rest of the bar; triggered inside the bar when high >= S, then it fills at
  S if S <= L, else it rests as a limit from the next bar (the bar's path after the trigger is
  unknown, so we don't assume the favourable one). Sells mirror it.
Partial fills: with `max_volume_pct`, a fill takes at most that share of the bar's volume and
the rest waits for the next bar (a triggered stop-market waits as a market order).
On a tick the same rules apply with the last traded price standing for open, high and low.

Validity: a DAY order lives through the IST trading day of the first bar it meets (an order
placed on the last bar of a day meets the next day's open, like an after-market order) and
expires at the first bar of a later day; an IOC order expires after the first bar it meets,
whatever part of it did not fill.
"""

from __future__ import annotations

from enum import StrEnum

from algo_trading.domain.events import ist_day
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderSide, OrderType, Validity

__all__ = ["BarMatcher", "Match", "MatchKind", "RestingOrder"]

_MARKET = OrderType.MARKET


class MatchKind(StrEnum):
    TRIGGER = "TRIGGER"
    FILL = "FILL"
    EXPIRE = "EXPIRE"


# Enum members read once: `OrderSide.BUY` in a function is a lookup through the enum's
# metaclass each time (about ten times a global's cost), on every order.
_FILL_KIND, _EXPIRE_KIND, _TRIGGER_KIND = MatchKind.FILL, MatchKind.EXPIRE, MatchKind.TRIGGER
_LIMIT, _SL_MARKET = OrderType.LIMIT, OrderType.STOPLOSS_MARKET
_IOC, _BUY = Validity.IOC, OrderSide.BUY
_UNTRIGGERED_TYPES = (OrderType.MARKET, OrderType.LIMIT)


class Match:
    """One thing a bar did to a resting order. A plain slotted class, not a frozen dataclass:
    one is made per fill, and a frozen dataclass's __init__ costs three times as much."""

    __slots__ = ("client_order_id", "kind", "price_paise", "quantity", "symbol")

    def __init__(
        self,
        kind: MatchKind,
        client_order_id: ClientOrderId,
        symbol: str,
        quantity: int = 0,
        price_paise: int = 0,
    ) -> None:
        self.kind = kind
        self.client_order_id = client_order_id
        self.symbol = symbol
        self.quantity = quantity
        self.price_paise = price_paise

    def __repr__(self) -> str:
        return (
            f"Match({self.kind.value}, {self.client_order_id}, {self.symbol}, "
            f"{self.quantity}, {self.price_paise})"
        )


class RestingOrder:
    """An order as the venue holds it: what is left to fill, and whether its stop triggered."""

    __slots__ = (
        "client_order_id",
        "day",
        "is_buy",
        "is_ioc",
        "limit_paise",
        "order_type",
        "remaining",
        "symbol",
        "tick_paise",
        "trigger_paise",
        "triggered",
    )

    def __init__(
        self,
        client_order_id: ClientOrderId,
        symbol: str,
        side: OrderSide,
        order_type: OrderType,
        quantity: int,
        limit_paise: int | None = None,
        trigger_paise: int | None = None,
        tick_paise: int = 5,
        validity: Validity = Validity.DAY,
    ) -> None:
        self.client_order_id = client_order_id
        self.is_ioc = validity is _IOC
        self.day: int | None = None  # IST day of the first bar it met
        self.symbol = symbol
        self.is_buy = side is _BUY
        self.order_type = order_type
        self.remaining = quantity
        self.limit_paise = limit_paise
        self.trigger_paise = trigger_paise
        self.tick_paise = tick_paise or 1
        self.triggered = order_type in _UNTRIGGERED_TYPES


class BarMatcher:
    """Resting orders per symbol, matched against each new bar or tick."""

    __slots__ = ("_by_symbol", "by_id", "max_volume_pct", "slippage_ticks")

    def __init__(self, slippage_ticks: int = 0, max_volume_pct: int | None = None) -> None:
        if slippage_ticks < 0:
            raise ValueError("slippage_ticks must be >= 0")
        if max_volume_pct is not None and not 0 < max_volume_pct <= 100:
            raise ValueError("max_volume_pct must be in (0, 100]")
        self.slippage_ticks = slippage_ticks
        self.max_volume_pct = max_volume_pct
        self._by_symbol: dict[str, list[RestingOrder]] = {}
        self.by_id: dict[ClientOrderId, RestingOrder] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def has_orders(self, symbol: str) -> bool:
        return bool(self._by_symbol.get(symbol))

    def add(self, order: RestingOrder) -> None:
        self._by_symbol.setdefault(order.symbol, []).append(order)
        self.by_id[order.client_order_id] = order

    def get(self, client_order_id: ClientOrderId) -> RestingOrder | None:
        return self.by_id.get(client_order_id)

    def remove(self, client_order_id: ClientOrderId) -> RestingOrder | None:
        order = self.by_id.pop(client_order_id, None)
        if order is not None:
            self._by_symbol[order.symbol].remove(order)
        return order

    def on_bar(
        self, symbol: str, ts_ns: int, open_: int, high: int, low: int, volume: int
    ) -> list[Match]:
        """Match this symbol's resting orders against one bar, oldest order first."""
        orders = self._by_symbol.get(symbol)
        if not orders:
            return []
        matches: list[Match] = []
        budget = None if self.max_volume_pct is None else volume * self.max_volume_pct // 100
        day = ist_day(ts_ns)
        for order in list(orders):
            if order.day is None:
                order.day = day
            elif day != order.day:
                self._expire(order, matches)
                continue
            if order.order_type is _MARKET and not self.slippage_ticks:
                price: int | None = open_  # the common case, without the general rules' call
            else:
                price = self._price_on_bar(order, open_, high, low, matches)
            if price is not None:
                qty = order.remaining if budget is None else min(order.remaining, budget)
                if qty > 0:
                    if budget is not None:
                        budget -= qty
                    matches.append(Match(_FILL_KIND, order.client_order_id, symbol, qty, price))
                    order.remaining -= qty
                    if order.remaining == 0:
                        del self.by_id[order.client_order_id]  # remove(), inlined
                        orders.remove(order)
                        continue
            if order.is_ioc:
                self._expire(order, matches)
        return matches

    def _expire(self, order: RestingOrder, matches: list[Match]) -> None:
        self.remove(order.client_order_id)
        matches.append(Match(_EXPIRE_KIND, order.client_order_id, order.symbol))

    def on_tick(self, symbol: str, ts_ns: int, ltp_paise: int, volume: int = 0) -> list[Match]:
        """Match against a last traded price: a bar whose open, high and low are that price."""
        return self.on_bar(symbol, ts_ns, ltp_paise, ltp_paise, ltp_paise, volume)

    def _price_on_bar(
        self, o: RestingOrder, open_: int, high: int, low: int, matches: list[Match]
    ) -> int | None:
        slip = self.slippage_ticks * o.tick_paise
        kind = o.order_type
        # A stop-market the volume cap left (partly) unfilled is a market order from then on.
        if kind is _MARKET or (o.triggered and kind is _SL_MARKET):
            return open_ + slip if o.is_buy else max(open_ - slip, o.tick_paise)
        if kind is _LIMIT or o.triggered:
            return _limit_price(o.is_buy, o.limit_paise, open_, low, high)  # type: ignore[arg-type]
        trigger = o.trigger_paise
        assert trigger is not None  # noqa: S101 - the order type guarantees it
        at_open = open_ >= trigger if o.is_buy else open_ <= trigger
        inside = high >= trigger if o.is_buy else low <= trigger
        if not (at_open or inside):
            return None
        o.triggered = True
        matches.append(Match(_TRIGGER_KIND, o.client_order_id, o.symbol))
        touch = open_ if at_open else trigger
        if kind is _SL_MARKET:
            return touch + slip if o.is_buy else max(touch - slip, o.tick_paise)
        limit = o.limit_paise
        assert limit is not None  # noqa: S101 - the order type guarantees it
        if at_open:
            return _limit_price(o.is_buy, limit, open_, low, high)
        if (o.is_buy and trigger <= limit) or (not o.is_buy and trigger >= limit):
            return trigger
        return None


def _limit_price(is_buy: bool, limit: int, open_: int, low: int, high: int) -> int | None:
    if is_buy:
        if open_ <= limit:
            return open_
        return limit if low <= limit else None
    if open_ >= limit:
        return open_
    return limit if high >= limit else None
