"""Order, book, position, holding and funds routes (spec §2.3-§2.8, §2.11-§2.13)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from algo_trading.simulator.accounts import Holding, RequestError
from algo_trading.simulator.auth import Session
from algo_trading.simulator.orders import body_int, body_text
from algo_trading.simulator.rest import SECURE, Body, secure
from algo_trading.simulator.state import SimState
from algo_trading.simulator.wire import (
    holding_row,
    holdings_total,
    order_row,
    position_row,
    rms_row,
    trade_row,
)

__all__ = ["order_routes"]


def _ltp(state: SimState, exchange: Any, token: str) -> int:
    quote = state.market.get(exchange, token)
    return 0 if quote is None else quote.ltp


async def _rms(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    account = state.exchange.account(session.client_code)
    unrealised = sum(
        p.unrealised(_ltp(state, p.instrument.exchange, str(p.instrument.token)))
        for p in account.positions.values()
    )
    return rms_row(account, unrealised)


async def _place(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    order = state.exchange.place(session.client_code, body)
    delay = state.faults.place_order_latency_ms
    if delay:
        # The order is booked first: a client that times out must reconcile, as with Angel.
        await asyncio.sleep(delay / 1000)
    return {
        "script": order.instrument.symbol,
        "orderid": order.orderid,
        "uniqueorderid": order.uniqueorderid,
    }


async def _modify(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    order = state.exchange.modify(session.client_code, body)
    return {"orderid": order.orderid, "uniqueorderid": order.uniqueorderid}


async def _cancel(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    order = state.exchange.cancel(session.client_code, body_text(body, "orderid"))
    return {"orderid": order.orderid, "uniqueorderid": order.uniqueorderid}


async def _order_book(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    rows = [
        order_row(o) for o in state.exchange.orders.values() if o.client_code == session.client_code
    ]
    return rows or None  # data:null for an empty book (spec §1.7)


async def _trade_book(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    rows = [
        trade_row(t) for t in state.exchange.trades if t.order.client_code == session.client_code
    ]
    return rows or None


async def _details(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    order = state.exchange.by_unique.get(request.match_info["uniqueorderid"])
    if order is None or order.client_code != session.client_code:
        raise RequestError("AB1007", "Order not found")  # an orderid gets this too (§2.7)
    return order_row(order)


async def _positions(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    account = state.exchange.account(session.client_code)
    rows = [
        position_row(p, _ltp(state, p.instrument.exchange, str(p.instrument.token)))
        for p in account.positions.values()
        if p.buy_qty or p.sell_qty
    ]
    return rows or None


async def _convert(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    """Move `quantity` of the open side from one product to another (§2.11); data null."""
    account = state.exchange.account(session.client_code)
    exchange = body_text(body, "exchange")
    symbol, token = body_text(body, "tradingsymbol"), body_text(body, "symboltoken")
    old, new = body_text(body, "oldproducttype"), body_text(body, "newproducttype")
    qty = body_int(body, "quantity")
    is_buy = body_text(body, "transactiontype") == "BUY"
    found = [
        p
        for (exch, tok, product), p in account.positions.items()
        if exch.value == exchange
        and product == old
        and (tok == token or p.instrument.symbol == symbol)
    ]
    if not found or qty <= 0 or (found[0].net_qty if is_buy else -found[0].net_qty) < qty:
        raise RequestError("AB1017", "Position conversion failed")
    source = found[0]
    target = account.position(source.instrument, new)
    avg = source.open_avg
    if is_buy:
        source.buy_qty -= qty
        source.buy_value -= qty * avg
        target.buy_qty += qty
        target.buy_value += qty * avg
    else:
        source.sell_qty -= qty
        source.sell_value -= qty * avg
        target.sell_qty += qty
        target.sell_value += qty * avg
    return None


def _holdings(state: SimState, session: Session) -> list[tuple[Holding, int, int]]:
    account = state.exchange.account(session.client_code)
    found = []
    for holding in account.holdings.values():
        quote = state.market.get(holding.instrument.exchange, str(holding.instrument.token))
        ltp, close = (0, 0) if quote is None else (quote.ltp, quote.close)
        found.append((holding, ltp, close))
    return found


async def _holding(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    """DELIVERY buys of earlier days (they become holdings at the new session, day_end.py)."""
    rows = [holding_row(h, ltp, close) for h, ltp, close in _holdings(state, session)]
    return rows or None


async def _all_holding(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    held = _holdings(state, session)
    return {
        "holdings": [holding_row(h, ltp, close) for h, ltp, close in held] or None,
        "totalholding": holdings_total([(h, ltp) for h, ltp, _ in held]),
    }


def order_routes() -> list[web.RouteDef]:
    order = f"{SECURE}/order/v1"
    return [
        web.get(f"{SECURE}/user/v1/getRMS", secure("getRMS", _rms)),
        web.post(f"{order}/placeOrder", secure("placeOrder", _place)),
        web.post(f"{order}/modifyOrder", secure("modifyOrder", _modify)),
        web.post(f"{order}/cancelOrder", secure("cancelOrder", _cancel)),
        web.get(f"{order}/getOrderBook", secure("getOrderBook", _order_book)),
        web.get(f"{order}/getTradeBook", secure("getTradeBook", _trade_book)),
        web.get(f"{order}/details/{{uniqueorderid}}", secure("details", _details)),
        web.get(f"{order}/getPosition", secure("getPosition", _positions)),
        web.post(f"{order}/convertPosition", secure("convertPosition", _convert)),
        web.get(f"{SECURE}/portfolio/v1/getHolding", secure("getHolding", _holding)),
        web.get(f"{SECURE}/portfolio/v1/getAllHolding", secure("getAllHolding", _all_holding)),
    ]
