"""Builders for domain values with sensible defaults: a test names only what it is about."""

from __future__ import annotations

import datetime as dt

from algo_trading.domain import (
    IST,
    Bar,
    ClientOrderId,
    Fill,
    Order,
    OrderSide,
    OrderType,
    ProductType,
    StrategyId,
    TradeId,
    Validity,
)

__all__ = ["SYMBOL", "ist_ns", "make_bar", "make_fill", "make_order"]

SYMBOL = "SBIN-EQ"


def ist_ns(day: str = "2024-01-01", hhmm: str = "09:15") -> int:
    """Epoch nanoseconds of a wall time in India ("2024-01-01", "09:15"): fixed, never now."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    when = dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=IST)
    return int(when.timestamp()) * 1_000_000_000


def make_order(
    client_order_id: str = "O000001",
    *,
    side: OrderSide = OrderSide.BUY,
    quantity: int = 10,
    order_type: OrderType | None = None,
    price_paise: int | None = None,
    trigger_price_paise: int | None = None,
    symbol: str = SYMBOL,
    strategy_id: str = "test",
    product: ProductType = ProductType.INTRADAY,
    validity: Validity = Validity.DAY,
    created_ns: int = 0,
) -> Order:
    """A NEW order; without an explicit type it is inferred the way Strategy.buy does it."""
    if order_type is None:
        if trigger_price_paise is not None:
            order_type = (
                OrderType.STOPLOSS_MARKET if price_paise is None else OrderType.STOPLOSS_LIMIT
            )
        else:
            order_type = OrderType.MARKET if price_paise is None else OrderType.LIMIT
    return Order(
        ClientOrderId(client_order_id),
        StrategyId(strategy_id),
        symbol,
        side,
        quantity,
        order_type,
        price_paise,
        trigger_price_paise,
        product,
        validity,
        created_ns,
    )


def make_bar(
    open: int = 10_000,
    high: int | None = None,
    low: int | None = None,
    close: int | None = None,
    *,
    volume: int = 1_000,
    ts_ns: int | None = None,
    symbol: str = SYMBOL,
) -> Bar:
    """A consistent bar: high and low default to the extremes of open and close."""
    close = open if close is None else close
    high = max(open, close) if high is None else high
    low = min(open, close) if low is None else low
    if not low <= min(open, close) <= max(open, close) <= high:
        raise ValueError(f"inconsistent bar o={open} h={high} l={low} c={close}")
    return Bar(symbol, ist_ns() if ts_ns is None else ts_ns, open, high, low, close, volume)


def make_fill(
    side: OrderSide = OrderSide.BUY,
    quantity: int = 10,
    price_paise: int = 10_000,
    *,
    symbol: str = SYMBOL,
    charges_paise: int = 0,
    ts_ns: int = 0,
    trade_id: str = "T1",
    client_order_id: str = "O000001",
    strategy_id: str = "test",
) -> Fill:
    return Fill(
        trade_id=TradeId(trade_id),
        client_order_id=ClientOrderId(client_order_id),
        strategy_id=StrategyId(strategy_id),
        symbol=symbol,
        side=side,
        quantity=quantity,
        price_paise=price_paise,
        ts_ns=ts_ns,
        charges_paise=charges_paise,
    )
