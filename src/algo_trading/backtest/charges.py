"""The backtest's charges: each round trip pays exactly what the calculator says it costs.

The engine asks for charges once per fill. A round trip's charges are not a sum of per-fill
amounts: STT rounds to the rupee per side, GST is taken on rounded lines, brokerage is capped
per order and DP is once per sell. So the whole round trip is charged at the fill that closes
it (back to flat, or through zero on a flip), from the trip's buy and sell values, dates and
orders; every other fill is charged nothing. Then the fills' charges of a run add up to the
calculator's totals over its closed round trips to the paisa, nothing is charged twice, and an
open position at the end has paid nothing yet (its costs depend on how it will be closed).
The price is timing: cash shows a trip's costs when it closes, not as its fills happen.

Round trips are followed here exactly as `domain.positions.Position` cuts them (flat to flat,
a flip closes one and opens the next), so the charged trips are `run.round_trips`. An order
is one executed order for brokerage (indian-market.md §1.2) however many fills it has; an order
that closes one trip and opens the next (a flip) pays brokerage once, in the trip it closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ist_day, ns_to_ist
from algo_trading.domain.fills import Fill
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.market import BROKERS, ChargeSegment
from algo_trading.market.charges import BrokerageSchedule, ChargeBreakdown, round_trip_charges

__all__ = [
    "CHARGES_CHOICES",
    "PRODUCT_CHOICES",
    "ChargedTrip",
    "RoundTripCharges",
    "backtest_charges",
    "backtest_product",
    "charges_label",
]

# "none" rather than "zero": `charges --broker zero` is zero brokerage with every tax still due.
CHARGES_CHOICES = ("angelone", "zerodha", "none")
PRODUCT_CHOICES = {"intraday": ProductType.INTRADAY, "delivery": ProductType.DELIVERY}
_BROKER_NAMES = {"angelone": "Angel One", "zerodha": "Zerodha"}
_PRODUCT_NAMES = {
    ProductType.INTRADAY: "intraday (MIS)",
    ProductType.DELIVERY: "delivery (CNC)",
    ProductType.CARRYFORWARD: "carry-forward (NRML)",
}


def backtest_charges(
    name: str, instruments: Mapping[str, Instrument] | None = None
) -> RoundTripCharges | None:
    """`--charges`: a broker's schedule with every statutory charge, or "none" for none at all
    (the engine's charge-free default, which parity tests against other backtesters rely on).
    Each trip is charged for the product its fills carry, i.e. the strategy's."""
    if name not in CHARGES_CHOICES:
        raise ConfigError(f"--charges {name!r} is not one of {', '.join(CHARGES_CHOICES)}")
    if name == "none":
        return None
    return RoundTripCharges(BROKERS[name], instruments)


def charges_label(name: str, product: ProductType) -> str:
    """What a report says about its charges, e.g. "Angel One's schedule, intraday (MIS)"."""
    if name not in _BROKER_NAMES:
        return "none (--charges none): no brokerage, tax or fee is in these figures"
    return f"{_BROKER_NAMES[name]}'s schedule for {_PRODUCT_NAMES[product]}, taxes and fees"


def backtest_product(name: str) -> ProductType:
    """`--product`: intraday (MIS) or delivery (CNC)."""
    product = PRODUCT_CHOICES.get(name)
    if product is None:
        raise ConfigError(f"--product {name!r} is not one of {', '.join(PRODUCT_CHOICES)}")
    return product


@dataclass(frozen=True, slots=True)
class ChargedTrip:
    """One closed round trip and the calculator's answer for it."""

    symbol: str
    segment: ChargeSegment
    exchange: Exchange
    buy_value_paise: int
    sell_value_paise: int
    buy_date: dt.date
    sell_date: dt.date
    buy_orders: int
    sell_orders: int
    charges: ChargeBreakdown


@dataclass(slots=True)
class _Trip:
    segment: ChargeSegment
    exchange: Exchange
    entry_ns: int
    direction: int  # +1 long, -1 short
    quantity: int = 0  # signed, as the position holds it
    entry_value: int = 0
    exit_value: int = 0
    orders: dict[OrderSide, set[str]] = field(
        default_factory=lambda: {OrderSide.BUY: set(), OrderSide.SELL: set()}
    )


_DATES: dict[int, dt.date] = {}  # IST day number -> its date: a run closes many trips a day


def _ist_date(ts_ns: int) -> dt.date:
    day = ist_day(ts_ns)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = ns_to_ist(ts_ns).date()
    return date


class RoundTripCharges:
    """A `ChargesModel` that charges each round trip its calculator total at its closing fill.

    It follows positions from the fills it sees, so use one per run. `charged` keeps every
    closed trip with its inputs and lines, for reports and tests.
    """

    def __init__(
        self, broker: BrokerageSchedule, instruments: Mapping[str, Instrument] | None = None
    ) -> None:
        self.broker = broker
        self.instruments = dict(instruments or {})
        self.charged: list[ChargedTrip] = []
        self._trips: dict[str, _Trip] = {}
        self._paid_orders: set[str] = set()  # orders whose brokerage a closed trip included

    def charges_paise(self, fill: Fill, order: Order) -> int:
        trip = self._trips.get(fill.symbol)
        signed = fill.signed_quantity
        charge = 0
        if trip is not None and (trip.quantity > 0) != (signed > 0):
            closing = min(abs(signed), abs(trip.quantity))
            step = closing if signed > 0 else -closing
            trip.exit_value += closing * fill.price_paise
            trip.quantity += step
            signed -= step
            self._count_order(trip, fill)
            if trip.quantity == 0:
                charge = self._close(fill.symbol, trip, fill.ts_ns)
                trip = None
        if signed:
            if trip is None:
                segment, exchange = self._classify(fill)
                trip = _Trip(segment, exchange, fill.ts_ns, 1 if signed > 0 else -1)
                self._trips[fill.symbol] = trip
            trip.entry_value += abs(signed) * fill.price_paise
            trip.quantity += signed
            self._count_order(trip, fill)
        return charge

    def _count_order(self, trip: _Trip, fill: Fill) -> None:
        if fill.client_order_id not in self._paid_orders:
            trip.orders[fill.side].add(fill.client_order_id)

    def _close(self, symbol: str, trip: _Trip, exit_ns: int) -> int:
        del self._trips[symbol]
        buy_value, sell_value = trip.entry_value, trip.exit_value
        buy_ns, sell_ns = trip.entry_ns, exit_ns
        if trip.direction < 0:  # a short trip sold first and bought back
            buy_value, sell_value = sell_value, buy_value
            buy_ns, sell_ns = sell_ns, buy_ns
        buys, sells = trip.orders[OrderSide.BUY], trip.orders[OrderSide.SELL]
        buy_date, sell_date = _ist_date(buy_ns), _ist_date(sell_ns)
        breakdown = round_trip_charges(
            trip.segment,
            buy_value,
            sell_value,
            exchange=trip.exchange,
            broker=self.broker,
            trade_date=buy_date,
            sell_date=sell_date,
            buy_orders=len(buys),
            sell_orders=len(sells),
        )
        self._paid_orders |= buys | sells
        self.charged.append(
            ChargedTrip(
                symbol,
                trip.segment,
                trip.exchange,
                buy_value,
                sell_value,
                buy_date,
                sell_date,
                len(buys),
                len(sells),
                breakdown,
            )
        )
        return breakdown.total_paise

    def _classify(self, fill: Fill) -> tuple[ChargeSegment, Exchange]:
        inst = self.instruments.get(fill.symbol)
        exchange = inst.exchange if inst is not None else Exchange.NSE
        kind = inst.instrument_type if inst is not None else InstrumentType.EQUITY
        if kind is InstrumentType.FUTURE:
            return ChargeSegment.FUTURES, exchange
        if kind is InstrumentType.OPTION:
            return ChargeSegment.OPTIONS, exchange
        if fill.product is ProductType.INTRADAY:
            return ChargeSegment.EQUITY_INTRADAY, exchange
        return ChargeSegment.EQUITY_DELIVERY, exchange
