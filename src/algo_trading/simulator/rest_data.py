"""Market data, search, candle and GTT routes (spec §2.9, §2.10, §2.14, §2.15, §3).

A GTT rule fires when the market crosses its trigger (gtt.py); writing a rule arms it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.instruments import Exchange
from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.auth import Session
from algo_trading.simulator.candles import candles
from algo_trading.simulator.gtt import GttTrigger
from algo_trading.simulator.market import Quote
from algo_trading.simulator.orders import body_int, body_paise, body_text
from algo_trading.simulator.rest import SECURE, Body, secure
from algo_trading.simulator.state import SimState
from algo_trading.simulator.wire import quote_row, rupees

__all__ = ["data_routes"]

_MAX_QUOTE_TOKENS = 50
_GTT_STATUSES = frozenset({"NEW", "CANCELLED", "ACTIVE", "SENTTOEXCHANGE", "FORALL"})
_STATUS_LIST = ", ".join(sorted(_GTT_STATUSES))


def _quote(state: SimState, exchange: str, token: str) -> Quote:
    try:
        quote = state.market.get(Exchange(exchange), token)
    except ValueError:
        quote = None
    if quote is None:
        raise RequestError("AB1009", "Symbol Not Found")
    return quote


async def _ltp(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    quote = _quote(state, body_text(body, "exchange"), body_text(body, "symboltoken"))
    return {
        "exchange": quote.instrument.exchange.value,
        "tradingsymbol": quote.instrument.symbol,
        "symboltoken": str(quote.instrument.token),
        "open": rupees(quote.open),
        "high": rupees(quote.high),
        "low": rupees(quote.low),
        "close": rupees(quote.close),
        "ltp": rupees(quote.ltp),
    }


def _quote_pairs(wanted: object) -> list[tuple[str, str]]:
    """(exchange, token) pairs of quote's `exchangeTokens`: an object of token lists (§2.10)."""
    if not isinstance(wanted, dict):
        raise RequestError("AB1004", "Invalid exchangeTokens: expected an object of token lists")
    pairs: list[tuple[str, str]] = []
    for exchange, tokens in wanted.items():
        if tokens is None:
            continue
        if not isinstance(tokens, list):
            raise RequestError("AB1004", f"Invalid exchangeTokens: {exchange} is not a list")
        for index in range(min(len(tokens), _MAX_QUOTE_TOKENS + 1)):
            pairs.append((exchange, body_text({"token": tokens[index]}, "token")))
    return pairs


async def _market_quote(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    mode = body_text(body, "mode")
    if mode not in ("LTP", "OHLC", "FULL"):
        raise RequestError("AB1004", "Invalid mode or exchangeTokens")
    pairs = _quote_pairs(body.get("exchangeTokens"))
    if len(pairs) > _MAX_QUOTE_TOKENS:
        raise RequestError("AB1004", f"At most {_MAX_QUOTE_TOKENS} tokens per request")
    fetched, unfetched = [], []
    for exchange, token in pairs:
        try:
            fetched.append(quote_row(_quote(state, exchange, token), mode))
        except RequestError:
            code, message = (
                ("AB4018", "Symbol token cannot be empty")
                if not token
                else (
                    "AB1009",
                    "Symbol Not Found",
                )
            )
            unfetched.append(
                {"exchange": exchange, "symbolToken": token, "message": message, "errorCode": code}
            )
    return {"fetched": fetched, "unfetched": unfetched}


async def _search(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    exchange, text = body_text(body, "exchange"), body_text(body, "searchscrip").upper()
    if not text:
        raise RequestError("AB1004", "searchscrip is empty")
    return [
        {"exchange": i.exchange.value, "tradingsymbol": i.symbol, "symboltoken": str(i.token)}
        for i in state.master
        if i.exchange.value == exchange and text in i.symbol.upper()
    ]


async def _candles(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    quote = _quote(state, body_text(body, "exchange"), body_text(body, "symboltoken"))
    now = ns_to_ist(state.clock.now_ns())
    return candles(
        quote,
        state.config.seed,
        body_text(body, "interval"),
        body_text(body, "fromdate"),
        body_text(body, "todate"),
        now,
    )


def _iso(ts_ns: int) -> str:
    return ns_to_ist(ts_ns).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _gtt_fields(state: SimState, body: Body, rule: dict[str, Any]) -> None:
    exchange = body_text(body, "exchange", rule.get("exchange", ""), code="AB9010")
    if exchange not in ("NSE", "BSE"):
        raise RequestError("AB9010", "Invalid exchange segment")
    quote = state.market.get(Exchange(exchange), body_text(body, "symboltoken", code="AB9011"))
    if quote is None:
        raise RequestError("AB9011", "Invalid symbol token")
    checks = (("qty", "AB9006"), ("price", "AB9008"), ("triggerprice", "AB9009"))
    values = {}
    for key, code in checks:
        value = body_int(body, key, code=code) if key == "qty" else body_paise(body, key, code=code)
        if value <= 0:
            raise RequestError(code, f"Invalid {key}")
        values[key] = value
    rule.update(
        exchange=exchange,
        symboltoken=str(quote.instrument.token),
        tradingsymbol=quote.instrument.symbol,
        qty=values["qty"],
        price=rupees(values["price"]),
        triggerprice=rupees(values["triggerprice"]),
        disclosedqty=body_int(body, "disclosedqty", code="AB9007"),
        updateddate=_iso(state.clock.now_ns()),
    )
    trigger = values["triggerprice"]
    state.gtt_triggers[int(rule["id"])] = GttTrigger(
        quote.key, trigger, values["price"], above=trigger > quote.ltp
    )


async def _gtt_create(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    if body_text(body, "producttype", code="AB9015") not in ("DELIVERY", "MARGIN"):
        raise RequestError("AB9015", "Invalid product type")
    if body_text(body, "transactiontype", code="AB9014") not in ("BUY", "SELL"):
        raise RequestError("AB9014", "Invalid order side")
    now = _iso(state.clock.now_ns())
    rule_id = 1000 + len(state.gtt_rules)
    rule: dict[str, Any] = {
        "id": rule_id,
        "status": "NEW",
        "createddate": now,
        "expirydate": now,
        "clientid": session.client_code,
        "transactiontype": body_text(body, "transactiontype"),
        "producttype": body_text(body, "producttype"),
    }
    _gtt_fields(state, body, rule)
    state.gtt_rules[rule_id] = rule
    return {"id": rule_id}


def _own_rule(state: SimState, session: Session, body: Body) -> dict[str, Any]:
    rule = state.gtt_rules.get(body_int(body, "id", -1, code="AB9013"))
    if rule is None or rule["clientid"] != session.client_code:
        raise RequestError("AB9013", "Invalid rule id")
    return rule


async def _gtt_modify(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    rule = _own_rule(state, session, body)
    _gtt_fields(state, body, rule)
    return {"id": rule["id"]}


async def _gtt_cancel(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    rule = _own_rule(state, session, body)
    rule["status"] = "CANCELLED"
    return {"id": rule["id"]}


async def _gtt_details(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    return _own_rule(state, session, body)


async def _gtt_list(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    statuses = body.get("status")
    if not isinstance(statuses, list) or not 1 <= len(statuses) <= len(_GTT_STATUSES):
        raise RequestError("AB9004", "Invalid status array size")
    if not all(isinstance(s, str) and s in _GTT_STATUSES for s in statuses):
        raise RequestError("AB9001", f"Invalid parameters: status must be among {_STATUS_LIST}")
    page = body_int(body, "page", 1, code="AB9017")
    count = body_int(body, "count", 10, code="AB9018")
    if page < 1:
        raise RequestError("AB9017", "Invalid page value")
    if count < 1:
        raise RequestError("AB9018", "Invalid count value")
    rules = [
        r
        for r in state.gtt_rules.values()
        if r["clientid"] == session.client_code
        and ("FORALL" in statuses or r["status"] in statuses)
    ]
    return rules[(page - 1) * count : page * count]


def data_routes() -> list[web.RouteDef]:
    routes = [
        web.post(f"{SECURE}/order/v1/getLtpData", secure("getLtpData", _ltp)),
        web.post(f"/order-service{SECURE}/order/v1/getLtpData", secure("getLtpData", _ltp)),
        web.post(f"{SECURE}/market/v1/quote", secure("quote", _market_quote)),
        web.post(f"{SECURE}/market/v1/quote/", secure("quote", _market_quote)),
        web.post(f"{SECURE}/order/v1/searchScrip", secure("searchScrip", _search)),
        web.post(f"{SECURE}/historical/v1/getCandleData", secure("getCandleData", _candles)),
    ]
    gtt = {
        "createRule": _gtt_create,
        "modifyRule": _gtt_modify,
        "cancelRule": _gtt_cancel,
        "ruleDetails": _gtt_details,
        "ruleList": _gtt_list,
    }
    for name, handler in gtt.items():
        for prefix in ("", "/gtt-service"):  # both spellings of §2.1 are served
            route = secure(name, handler, bad_body_code="AB9001")  # GTT's invalid parameters
            routes.append(web.post(f"{prefix}{SECURE}/gtt/v1/{name}", route))
    return routes
