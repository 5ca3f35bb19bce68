"""The pre-trade rules, one pure function each: the order and the numbers it is judged on in,
None (pass) or a refusal with its stable code and its numbers out (issue #10 item 5).

The manager (`risk_manager.py`) gathers the numbers once per order and asks each rule of each
scope (the strategy's limits, then the account's) in turn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from algo_trading.domain.instruments import Instrument, InstrumentType
from algo_trading.domain.orders import Order, OrderSide
from algo_trading.engine.risk_types import RiskCode, RiskDecision, RiskLimits
from algo_trading.market.prices import PriceBand

__all__ = [
    "Exposure",
    "check_band",
    "check_open_orders",
    "check_order_size",
    "check_position",
    "check_price_distance",
    "check_tick_and_lot",
    "check_window",
    "is_reducing",
    "order_prices",
    "worst_position",
]

_IST_OFFSET_S = 19_800
_DAY_S = 86_400


def _no(code: RiskCode, detail: str) -> RiskDecision:
    return RiskDecision(False, code.value, detail)


@dataclass(slots=True)
class Exposure:
    """One scope's numbers for one order: its net position and working orders in the order's
    symbol, its open orders over every symbol, and its gross exposure (Σ |net| × mark over its
    symbols, the order's symbol included)."""

    net: int = 0
    pending_buy: int = 0
    pending_sell: int = 0
    open_orders: int = 0
    gross_paise: int = 0
    symbol_gross_paise: int = 0


def worst_position(order: Order, e: Exposure) -> int:
    """The scope's position in the symbol if this order and every working order of its side
    filled: the worst case the limits are held against."""
    if order.side is OrderSide.BUY:
        return e.net + e.pending_buy + order.quantity
    return e.net - e.pending_sell - order.quantity


def is_reducing(order: Order, e: Exposure) -> bool:
    """The order only brings the scope's position towards flat, whatever else fills."""
    worst = worst_position(order, e)
    if order.side is OrderSide.BUY:
        return e.net < 0 and worst <= 0
    return e.net > 0 and worst >= 0


def order_prices(order: Order) -> tuple[int, ...]:
    """The prices an order carries (its limit, its trigger)."""
    return tuple(p for p in (order.price_paise, order.trigger_price_paise) if p is not None)


def check_tick_and_lot(order: Order, inst: Instrument) -> RiskDecision | None:
    """The exchange's rules: prices on the instrument's tick, whole lots (indian-market.md §4)."""
    if inst.instrument_type is InstrumentType.INDEX:
        return _no(RiskCode.NOT_TRADABLE, f"{order.symbol} is an index and cannot be ordered")
    tick = inst.tick_size_paise
    for price in order_prices(order):
        if tick and price % tick:
            return _no(
                RiskCode.TICK_SIZE,
                f"{order.symbol} price={price} paise, tick={tick} paise",
            )
    if order.quantity % inst.lot_size:
        return _no(
            RiskCode.LOT_SIZE,
            f"{order.symbol} quantity={order.quantity}, lot={inst.lot_size}",
        )
    return None


def check_band(order: Order, band: PriceBand | None) -> RiskDecision | None:
    """Every price the order carries within the day's band, when the band is known."""
    if band is None:
        return None
    for price in order_prices(order):
        if not band.contains(price):
            return _no(
                RiskCode.PRICE_BAND,
                f"{order.symbol} price={price} paise, band={band.lower_paise}-"
                f"{band.upper_paise} paise",
            )
    return None


def check_price_distance(
    order: Order, last_paise: int | None, limits: RiskLimits, scope: str
) -> RiskDecision | None:
    """A price at most `max_price_distance_bps` from the last trade. A market order carries no
    price and passes; a priced order with no last trade seen yet is refused (it cannot be
    judged)."""
    bps = limits.max_price_distance_bps
    prices = order_prices(order)
    if bps is None or not prices:
        return None
    if last_paise is None:
        return _no(
            RiskCode.NO_REFERENCE_PRICE,
            f"{scope}: no last trade price of {order.symbol} yet to judge the price by",
        )
    for price in prices:
        # |price - last| / last > bps / 10000, in integers
        if abs(price - last_paise) * 10_000 > bps * last_paise:
            return _no(
                RiskCode.PRICE_DISTANCE,
                f"{scope}: {order.symbol} price={price} paise, last={last_paise} paise, "
                f"limit={bps} bps",
            )
    return None


def check_order_size(
    order: Order, value_price: int | None, limits: RiskLimits, scope: str
) -> RiskDecision | None:
    """Maximum quantity and value of one order; the value at its price, else the last trade."""
    qty_limit = limits.max_order_quantity
    if qty_limit is not None and order.quantity > qty_limit:
        return _no(
            RiskCode.MAX_ORDER_QUANTITY,
            f"{scope}: quantity={order.quantity}, limit={qty_limit}",
        )
    value_limit = limits.max_order_value_paise
    if value_limit is None:
        return None
    if value_price is None:
        return _no(
            RiskCode.NO_REFERENCE_PRICE,
            f"{scope}: no price to value a {order.order_type.value} order in {order.symbol}",
        )
    value = order.quantity * value_price
    if value > value_limit:
        return _no(RiskCode.MAX_ORDER_VALUE, f"{scope}: value={value}, limit={value_limit}")
    return None


def check_open_orders(e: Exposure, limits: RiskLimits, scope: str) -> RiskDecision | None:
    limit = limits.max_open_orders
    if limit is not None and e.open_orders >= limit:
        return _no(RiskCode.MAX_OPEN_ORDERS, f"{scope}: open={e.open_orders}, limit={limit}")
    return None


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def check_window(ts_ns: int, limits: RiskLimits, scope: str) -> RiskDecision | None:
    """New orders only from `trading_start` (inclusive) to `trading_end` (exclusive), IST."""
    start, end = limits.trading_start, limits.trading_end
    if start is None and end is None:
        return None
    now_s = (ts_ns // 1_000_000_000 + _IST_OFFSET_S) % _DAY_S
    if (start is not None and now_s < _seconds(start)) or (
        end is not None and now_s >= _seconds(end)
    ):
        h, rest = divmod(now_s, 3600)
        window = f"{start or dt.time(0):%H:%M:%S}-{end or dt.time(23, 59, 59):%H:%M:%S}"
        return _no(
            RiskCode.OUTSIDE_TRADING_WINDOW,
            f"{scope}: time={h:02d}:{rest // 60:02d}:{rest % 60:02d} IST, window={window}",
        )
    return None


def check_position(
    order: Order, e: Exposure, price: int | None, limits: RiskLimits, scope: str
) -> RiskDecision | None:
    """Maximum position per symbol (units and value) and gross exposure of the scope, held
    against the worst case (this order and the scope's working orders of its side in the
    symbol all filled). An order that only reduces the position always passes."""
    qty_limit = limits.max_position_quantity
    value_limit = limits.max_position_value_paise
    gross_limit = limits.max_gross_exposure_paise
    if qty_limit is None and value_limit is None and gross_limit is None:
        return None
    if is_reducing(order, e):
        return None
    worst = abs(worst_position(order, e))
    if qty_limit is not None and worst > qty_limit:
        return _no(
            RiskCode.MAX_POSITION_QUANTITY,
            f"{scope}: {order.symbol} position={e.net}, pending={e.pending_buy}/"
            f"-{e.pending_sell}, order={order.quantity}, limit={qty_limit}",
        )
    if value_limit is None and gross_limit is None:
        return None
    if price is None:
        return _no(
            RiskCode.NO_REFERENCE_PRICE,
            f"{scope}: no price to value the position in {order.symbol}",
        )
    value = worst * price
    if value_limit is not None and value > value_limit:
        return _no(
            RiskCode.MAX_POSITION_VALUE,
            f"{scope}: {order.symbol} value={value}, limit={value_limit}",
        )
    if gross_limit is not None:
        gross = e.gross_paise - e.symbol_gross_paise + value
        if gross > gross_limit:
            return _no(
                RiskCode.MAX_GROSS_EXPOSURE,
                f"{scope}: gross={gross}, limit={gross_limit}",
            )
    return None
