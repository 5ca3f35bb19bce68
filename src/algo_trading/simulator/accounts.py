"""Funds and positions of one simulated client, in integer paise.

Margin is a plain percentage of the order's value (no SPAN): delivery 100 %, intraday cash 20 %,
futures and short options 15 % (of the strike value for options), long options the premium.
An order that only reduces an open position needs no margin. These rates are the simulator's
own simplification, chosen so that insufficient-funds rejections happen at believable sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType

__all__ = ["Account", "Holding", "Position", "RequestError", "margin_paise"]


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
    """Buys and sells of one instrument and product; values are sums of price × qty. The `cf_`
    part is what was carried forward from earlier days (F&O), and is included in the totals."""

    instrument: Instrument
    product: str
    buy_qty: int = 0
    sell_qty: int = 0
    buy_value: int = 0
    sell_value: int = 0
    cf_buy_qty: int = 0
    cf_sell_qty: int = 0
    cf_buy_value: int = 0
    cf_sell_value: int = 0

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

    def margin(self, held_qty: int = 0) -> int:
        """Margin of the open side; a delivery sale of shares already held needs none."""
        net = self.net_qty
        uncovered = abs(net) if net > 0 else max(0, -net - held_qty)
        return margin_paise(self.instrument, self.product, net > 0, uncovered, self.open_avg)

    def open_value(self) -> int:
        """Cost of the open side: what a carried or delivered position is worth at its average."""
        if self.net_qty > 0:
            return self.buy_value * self.net_qty // self.buy_qty
        if self.net_qty < 0:
            return self.sell_value * -self.net_qty // self.sell_qty
        return 0


@dataclass(slots=True)
class Holding:
    """Shares in the demat account, bought on earlier days (spec §2.12)."""

    instrument: Instrument
    quantity: int
    cost_paise: int  # sum of price × qty paid for `quantity`

    @property
    def avg_price(self) -> int:
        return self.cost_paise // self.quantity if self.quantity else 0


PositionKey = tuple[Exchange, str, str]  # exchange, token, product


@dataclass(slots=True)
class Account:
    """One client's money: starting cash, margins blocked by open orders, day positions."""

    client_code: str
    cash_paise: int
    blocked: dict[str, int] = field(default_factory=dict)  # orderid -> margin of what remains
    positions: dict[PositionKey, Position] = field(default_factory=dict)
    holdings: dict[tuple[Exchange, str], Holding] = field(default_factory=dict)

    def position(self, inst: Instrument, product: str) -> Position:
        key = (inst.exchange, str(inst.token), product)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(inst, product)
        return found

    @property
    def realised(self) -> int:
        return sum(p.realised for p in self.positions.values())

    def held_qty(self, inst: Instrument) -> int:
        found = self.holdings.get((inst.exchange, str(inst.token)))
        return 0 if found is None else found.quantity

    @property
    def used_margin(self) -> int:
        margins = sum(
            p.margin(self.held_qty(p.instrument) if p.product == "DELIVERY" else 0)
            for p in self.positions.values()
        )
        return margins + sum(self.blocked.values())

    @property
    def available(self) -> int:
        return self.cash_paise + self.realised - self.used_margin

    def required_for(
        self, inst: Instrument, product: str, is_buy: bool, qty: int, price: int
    ) -> int:
        """Margin a new order needs: none for the part that closes an open position."""
        net = self.position(inst, product).net_qty
        if product == "DELIVERY" and not is_buy:
            net += self.held_qty(inst)  # selling shares already held
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

    def settle_day(self, ltp_of: Callable[[Instrument], int]) -> None:
        """Close the books of a day (spec §2.11-§2.13): realised P&L goes to cash, DELIVERY buys
        become holdings at their average and sales leave them, F&O CARRYFORWARD and MARGIN
        positions carry over at their average, and a leftover INTRADAY position (none after the
        square-off) is closed at its last price. Blocked margins are released by the caller."""
        carried: dict[PositionKey, Position] = {}
        for key, pos in self.positions.items():
            self.cash_paise += pos.realised
            net, value = pos.net_qty, pos.open_value()
            if net == 0:
                continue
            derivative = pos.instrument.expiry is not None
            if derivative and pos.product != "INTRADAY":
                carried[key] = _carried(pos, net, value)
            elif pos.product in ("DELIVERY", "MARGIN") and not derivative:
                self._deliver(pos.instrument, net, value)
            else:
                self.cash_paise += pos.unrealised(ltp_of(pos.instrument))
        self.positions = carried

    def _deliver(self, inst: Instrument, net: int, value: int) -> None:
        key = (inst.exchange, str(inst.token))
        held = self.holdings.get(key) or Holding(inst, 0, 0)
        if net > 0:
            self.cash_paise -= value
            held.quantity += net
            held.cost_paise += value
        else:
            self.cash_paise += value
            sold = min(-net, held.quantity)
            held.cost_paise -= held.avg_price * sold
            held.quantity -= sold
        if held.quantity:
            self.holdings[key] = held
        else:
            self.holdings.pop(key, None)


def _carried(pos: Position, net: int, value: int) -> Position:
    if net > 0:
        return Position(pos.instrument, pos.product, net, 0, value, 0, net, 0, value, 0)
    return Position(pos.instrument, pos.product, 0, -net, 0, value, 0, -net, 0, value)
