"""Builders shared by the adapter's integration tests."""

from __future__ import annotations

import itertools
from typing import Any

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import (
    Order,
    OrderEvent,
    OrderSide,
    OrderSnapshot,
    OrderType,
    ProductType,
)
from algo_trading.engine.ports import Clock
from algo_trading.market.audit import order_tag
from algo_trading.market.instruments import InstrumentMaster

from .conftest import Sink

SYMBOL = "SBIN-EQ"
_ids = itertools.count(1)


def new_id(prefix: str = "T") -> ClientOrderId:
    """Unique per test process, so tests never see each other's orders."""
    return ClientOrderId(f"{prefix}{next(_ids):05d}")


def sent_order(
    *,
    side: OrderSide = OrderSide.BUY,
    quantity: int = 1,
    order_type: OrderType = OrderType.MARKET,
    price_paise: int | None = None,
    trigger_price_paise: int | None = None,
    symbol: str = SYMBOL,
    coid: ClientOrderId | None = None,
) -> OrderSnapshot:
    """An order as the engine hands it to `Broker.submit`: SUBMITTED, tagged."""
    order = Order(
        coid or new_id(),
        StrategyId("itest"),
        symbol,
        side,
        quantity,
        order_type,
        price_paise,
        trigger_price_paise,
        ProductType.INTRADAY,
    )
    order.tag = order_tag(order.strategy_id, order.client_order_id)
    order.apply(OrderEvent.SUBMIT, 0)
    return order.snapshot()


def make_broker(
    session: AngelOneSession, master: InstrumentMaster, clock: Clock, **kwargs: Any
) -> tuple[AngelOneBroker, Sink]:
    def resolve(symbol: str) -> Instrument:
        return master.by_symbol(symbol)

    broker = AngelOneBroker(session, resolve, clock, lookup_delay_s=0.3, **kwargs)
    sink = Sink()
    broker.connect(sink)
    return broker, sink


def ltp_paise(session: AngelOneSession, master: InstrumentMaster, symbol: str = SYMBOL) -> int:
    inst = master.by_symbol(symbol)
    quote = AngelOneMarketData(session).ltp(inst.exchange.value, inst.symbol, str(inst.token))
    return int(quote.ltp_paise)


def orders_with_tag(session: AngelOneSession, tag: str) -> list[Any]:
    return [r for r in AngelOneAccount(session).order_book() if r.tag == tag]
