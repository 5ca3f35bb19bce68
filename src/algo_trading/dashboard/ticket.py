"""The order ticket's checks (issue #12, Controls): before anything is written, a manual order
must name a known, tradable symbol, whole lots, prices on the tick and inside the band, and
stay within the ticket's value limit; its Angel One charges are estimated for the trader to see.

Pure: the instrument master, a reference price and the limits are passed in. The trading
service checks the order again (its risk manager, its throttle) when it executes the command.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from algo_trading.dashboard.commands import build_payload
from algo_trading.domain.errors import AlgoTradingError, InvalidInputError
from algo_trading.domain.instruments import Instrument, InstrumentType
from algo_trading.domain.money import format_rupees, paise_to_decimal, rupees_to_paise
from algo_trading.market import ANGEL_ONE, ChargeSegment
from algo_trading.market.charges import ChargeBreakdown, round_trip_charges
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.prices import PriceBand, band_around, check_on_tick

__all__ = [
    "BAND_PERCENT",
    "CheckedTicket",
    "TicketInput",
    "TicketLimits",
    "TicketRefusedError",
    "band_for",
    "check_modify",
    "check_ticket",
]

# The paper venue's band (simulator/market.py): 10 % around the reference price; options get
# a wide band of their own. A live exchange publishes each scrip's band daily.
BAND_PERCENT = 10
_STRATEGY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TicketRefusedError(InvalidInputError):
    """One field of the ticket is wrong; the message names it and why."""


@dataclass(frozen=True, slots=True)
class TicketInput:
    """What the trader typed, as text (lots and prices are parsed here, never from floats).
    `order_type` is an OrderType value (MARKET, LIMIT, STOPLOSS_LIMIT, STOPLOSS_MARKET)."""

    strategy_id: str
    symbol: str
    exchange: str
    side: str
    lots: str
    order_type: str
    product: str
    price: str = ""
    trigger: str = ""


@dataclass(frozen=True, slots=True)
class TicketLimits:
    max_order_value_paise: int


@dataclass(frozen=True, slots=True)
class CheckedTicket:
    payload: dict[str, str]
    strategy_id: str
    instrument: Instrument
    quantity: int
    value_paise: int
    reference_paise: int | None
    band: PriceBand | None
    charges: ChargeBreakdown

    def summary(self) -> str:
        return (
            f"{self.payload['side']} {self.quantity} {self.instrument.symbol} "
            f"({self.payload['order_type']}, {self.payload['product']}, strategy "
            f"{self.strategy_id}), value about "
            f"{format_rupees(self.value_paise)}, charges about "
            f"{format_rupees(self.charges.total_paise)}"
        )


def band_for(instrument: Instrument, reference_paise: int) -> PriceBand | None:
    tick = instrument.tick_size_paise
    if instrument.instrument_type is InstrumentType.OPTION:
        return PriceBand(tick, max(reference_paise * 10, 1_000_00) // tick * tick)
    if instrument.instrument_type is InstrumentType.INDEX:
        return None
    return band_around(reference_paise, BAND_PERCENT, tick)


def check_ticket(
    ticket: TicketInput,
    master: InstrumentMaster,
    reference: Callable[[str], int | None],
    limits: TicketLimits,
    *,
    today: dt.date | None = None,
) -> CheckedTicket:
    """The checked ticket, or TicketRefusedError naming the first field at fault."""
    try:
        return _check(ticket, master, reference, limits, today)
    except TicketRefusedError:
        raise
    except AlgoTradingError as exc:
        raise TicketRefusedError(str(exc)) from None


def _check(
    t: TicketInput,
    master: InstrumentMaster,
    reference: Callable[[str], int | None],
    limits: TicketLimits,
    today: dt.date | None,
) -> CheckedTicket:
    if not _STRATEGY.match(t.strategy_id.strip()):
        raise TicketRefusedError("strategy: use 1-64 letters, digits, _ or -")
    typed = t.symbol.strip()
    if not typed:
        raise TicketRefusedError("symbol: enter a trading symbol, e.g. SBIN-EQ")
    inst = _lookup(master, typed, t.exchange)
    symbol = inst.symbol
    if inst.instrument_type is InstrumentType.INDEX:
        raise TicketRefusedError(f"symbol: {symbol} is an index; it cannot be traded")
    quantity = _lots(t.lots) * inst.lot_size
    if inst.freeze_quantity is not None and quantity > inst.freeze_quantity:
        raise TicketRefusedError(
            f"lots: {quantity} units is above {symbol}'s freeze quantity {inst.freeze_quantity}"
        )
    price = _price("price", t.price, t.order_type in ("LIMIT", "STOPLOSS_LIMIT"), inst)
    trigger = _price(
        "trigger", t.trigger, t.order_type in ("STOPLOSS_LIMIT", "STOPLOSS_MARKET"), inst
    )
    ref = reference(symbol)
    band = band_for(inst, ref) if ref is not None else None
    for name, value in (("price", price), ("trigger", trigger)):
        if value is not None and band is not None:
            band.check(value, where=name)
    unit = price if price is not None else trigger if trigger is not None else ref
    if unit is None:
        raise TicketRefusedError(
            f"price: no price is known for {symbol} yet, so a market order's value cannot be "
            "checked; place a LIMIT order"
        )
    value = unit * quantity
    if value > limits.max_order_value_paise:
        raise TicketRefusedError(
            f"ORDER_VALUE: value {format_rupees(value)} is above the ticket's limit "
            f"{format_rupees(limits.max_order_value_paise)}"
        )
    strategy_id = t.strategy_id.strip()
    payload = build_payload(
        "place",
        strategy_id,
        symbol=symbol,
        side=t.side,
        quantity=quantity,
        order_type=t.order_type,
        product=t.product,
        price=None if price is None else paise_to_decimal(price),
        trigger_price=None if trigger is None else paise_to_decimal(trigger),
    )
    segment = _segment(inst, t.product)
    buy, sell = (value, 0) if t.side == "BUY" else (0, value)
    charges = round_trip_charges(
        segment, buy, sell, exchange=inst.exchange, broker=ANGEL_ONE, trade_date=today
    )
    return CheckedTicket(payload, strategy_id, inst, quantity, value, ref, band, charges)


def check_modify(
    master: InstrumentMaster, symbol: str, quantity: str, price: str
) -> dict[str, str]:
    """The modify payload's changes (quantity in whole lots, price on the tick), or
    TicketRefusedError; at least one change."""
    if not quantity.strip() and not price.strip():
        raise TicketRefusedError("modify: give a new quantity, a new price, or both")
    try:
        inst = master.by_symbol(symbol)
    except AlgoTradingError:
        raise TicketRefusedError(f"symbol: {symbol} is not in the instrument master") from None
    changes: dict[str, str] = {}
    if quantity.strip():
        units = quantity.strip()
        if not re.fullmatch(r"[0-9]{1,9}", units) or int(units) <= 0:
            raise TicketRefusedError(f"quantity: {units!r} is not a whole number of units")
        if int(units) % inst.lot_size:
            raise TicketRefusedError(
                f"quantity: {units} is not a multiple of {symbol}'s lot size {inst.lot_size}"
            )
        changes["quantity"] = units
    if price.strip():
        try:
            paise = rupees_to_paise(price, what="price")
            check_on_tick(paise, inst.tick_size_paise, where="price")
        except AlgoTradingError as exc:
            raise TicketRefusedError(str(exc)) from None
        changes["price"] = str(paise_to_decimal(paise))
    return changes


def _lookup(master: InstrumentMaster, typed: str, exchange: str) -> Instrument:
    """The symbol as typed, else in capitals (sbin-eq is SBIN-EQ)."""
    for candidate in (typed, typed.upper()):
        try:
            return master.by_symbol(candidate, exchange)
        except AlgoTradingError:
            continue
    raise TicketRefusedError(f"symbol: {typed} is not in the instrument master on {exchange}")


def _lots(text: str) -> int:
    raw = text.strip()
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise TicketRefusedError(f"lots: {raw!r} is not a whole number of lots")
    lots = int(raw)
    if lots <= 0:
        raise TicketRefusedError("lots: at least one lot")
    return lots


def _price(name: str, text: str, needed: bool, inst: Instrument) -> int | None:
    raw = text.strip()
    if not raw:
        if needed:
            raise TicketRefusedError(f"{name}: this order type needs a {name} (rupees)")
        return None
    if not needed:
        raise TicketRefusedError(f"{name}: this order type takes no {name}; leave it empty")
    paise = rupees_to_paise(raw, what=name)
    check_on_tick(paise, inst.tick_size_paise, where=name)
    return paise


def _segment(inst: Instrument, product: str) -> ChargeSegment:
    if inst.instrument_type is InstrumentType.FUTURE:
        return ChargeSegment.FUTURES
    if inst.instrument_type is InstrumentType.OPTION:
        return ChargeSegment.OPTIONS
    if product == "DELIVERY":
        return ChargeSegment.EQUITY_DELIVERY
    return ChargeSegment.EQUITY_INTRADAY
