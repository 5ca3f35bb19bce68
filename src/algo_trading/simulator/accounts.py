"""Funds and positions of one simulated client, in integer paise.

Margin is a plain percentage of the order's value (no SPAN): delivery 100 %, intraday cash 20 %,
futures and short options 15 % (of the strike value for options), long options the premium.
An order that only reduces an open position needs no margin. These rates are the simulator's
own simplification, chosen so that insufficient-funds rejections happen at believable sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType

__all__ = ["Account", "Position", "RequestError", "margin_paise"]


class RequestError(Exception):
    """A request Angel One refuses outright (status false in the envelope, no order row)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _rate_pct(inst: Instrument, product: str, is_buy: bool) -> int:
    if inst.instrument_type is InstrumentType.OPTION:
        return 100 if is_buy else 15
    if inst.instrument_type is InstrumentType.FUTURE:
        return 15
    return 100 if product == "DELIVERY" else 20


def margin_paise(inst: Instrument, product: str, is_buy: bool, qty: int, price: int) -> int:
    """Margin blocked for `qty` units at `price` (short options on the strike value)."""
    if inst.instrument_type is InstrumentType.OPTION and not is_buy:
        price = inst.strike_paise or price
    return qty * price * _rate_pct(inst, product, is_buy) // 100


@dataclass(slots=True)
class Position:
    """Day buys and sells of one instrument and product; values are sums of price × qty."""

    instrument: Instrument
    product: str
    buy_qty: int = 0
    sell_qty: int = 0
    buy_value: int = 0
    sell_value: int = 0

    @property
    def net_qty(self) -> int:
        return self.buy_qty - self.sell_qty

    @property
    def open_avg(self) -> int:
        """Average price of the open side (0 when flat)."""
        if self.net_qty > 0:
            return self.buy_value // self.buy_qty
        if self.net_qty < 0:
            return self.sell_value // self.sell_qty
        return 0

    @property
    def realised(self) -> int:
        matched = min(self.buy_qty, self.sell_qty)
        if matched == 0:
            return 0
        return matched * self.sell_value // self.sell_qty - matched * self.buy_value // self.buy_qty

    def unrealised(self, ltp: int) -> int:
        return self.net_qty * (ltp - self.open_avg) if self.net_qty else 0

    def margin(self) -> int:
        net = self.net_qty
        return margin_paise(self.instrument, self.product, net > 0, abs(net), self.open_avg)


PositionKey = tuple[Exchange, str, str]  # exchange, token, product


@dataclass(slots=True)
class Account:
    """One client's money: starting cash, margins blocked by open orders, day positions."""

    client_code: str
    cash_paise: int
    blocked: dict[str, int] = field(default_factory=dict)  # orderid -> margin of what remains
    positions: dict[PositionKey, Position] = field(default_factory=dict)

    def position(self, inst: Instrument, product: str) -> Position:
        key = (inst.exchange, str(inst.token), product)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(inst, product)
        return found

    @property
    def realised(self) -> int:
        return sum(p.realised for p in self.positions.values())

    @property
    def used_margin(self) -> int:
        return sum(p.margin() for p in self.positions.values()) + sum(self.blocked.values())

    @property
    def available(self) -> int:
        return self.cash_paise + self.realised - self.used_margin

    def required_for(
        self, inst: Instrument, product: str, is_buy: bool, qty: int, price: int
    ) -> int:
        """Margin a new order needs: none for the part that closes an open position."""
        net = self.position(inst, product).net_qty
        closing = min(qty, max(0, -net if is_buy else net))
        return margin_paise(inst, product, is_buy, qty - closing, price)

    def fill(self, inst: Instrument, product: str, is_buy: bool, qty: int, price: int) -> None:
        pos = self.position(inst, product)
        if is_buy:
            pos.buy_qty += qty
            pos.buy_value += qty * price
        else:
            pos.sell_qty += qty
            pos.sell_value += qty * price
