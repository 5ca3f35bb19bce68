"""SmartAPI REST parsing: envelopes, order rows, request bodies. Pure, no I/O (DESIGN.md §6).

The only module (with `parsing_books` and `parsing_values`) that knows Angel One's field
names. Everything that comes in is read exactly (prices via Decimal, never float) and every
problem is a typed error naming the route and the field; see `errors` for what to do about
each. Spec: specs/angel-one-smartapi.md §1.7 (envelopes), §2.3-§2.7 (orders), §3 (candles).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    BrokerUnavailableError,
    MalformedResponseError,
    RateLimitedError,
    error_for_code,
)
from algo_trading.adapters.brokers.angelone.parsing_books import (
    BrokerFunds,
    BrokerHoldingRow,
    BrokerPositionRow,
    BrokerTradeRow,
    LtpQuote,
    MarketQuote,
    QuoteResult,
    UnfetchedQuote,
    parse_candles,
    parse_funds,
    parse_holding_row,
    parse_holdings,
    parse_ltp,
    parse_position_row,
    parse_positions,
    parse_quote,
    parse_trade_row,
    parse_trades,
    rows_of,
)
from algo_trading.adapters.brokers.angelone.parsing_values import (
    Row,
    amount_paise,
    integer,
    ist_naive,
    loads_exact,
    price_paise,
    rupees_str,
    text,
)
from algo_trading.domain.errors import OrderError
from algo_trading.domain.orders import OrderStatus

__all__ = [
    "CANDLE_MAX_DAYS",
    "ORDER_TAG_MAX_LEN",
    "RATE_LIMIT_TEXT",
    "STATUS_MAP",
    "BrokerFunds",
    "BrokerHoldingRow",
    "BrokerOrderAck",
    "BrokerOrderRow",
    "BrokerPositionRow",
    "BrokerTradeRow",
    "LtpQuote",
    "MarketQuote",
    "QuoteResult",
    "UnfetchedQuote",
    "cancel_order_body",
    "candle_body",
    "login_body",
    "modify_order_body",
    "parse_candles",
    "parse_envelope",
    "parse_funds",
    "parse_holding_row",
    "parse_holdings",
    "parse_ltp",
    "parse_order_ack",
    "parse_order_book",
    "parse_order_row",
    "parse_position_row",
    "parse_positions",
    "parse_quote",
    "parse_trade_row",
    "parse_trades",
    "place_order_body",
    "rupees_str",
]

RATE_LIMIT_TEXT = "Access denied because of exceeding access rate"  # §1.7 shape 3, §6.1
ORDER_TAG_MAX_LEN = 19  # AB4008 "ordertag length should be less than 20 characters" (§1.8)

# §3: the longest span one getCandleData request may cover, per interval.
CANDLE_MAX_DAYS = {
    "ONE_MINUTE": 30,
    "THREE_MINUTE": 60,
    "FIVE_MINUTE": 100,
    "TEN_MINUTE": 100,
    "FIFTEEN_MINUTE": 200,
    "THIRTY_MINUTE": 200,
    "ONE_HOUR": 400,
    "ONE_DAY": 2000,
}

_S = OrderStatus
# §2.6. Values that mean "the OMS has it, the exchange has not answered" are SUBMITTED; values
# that describe a modify or cancel of an order the exchange already holds keep it OPEN (or
# PARTIALLY_FILLED, decided on `filledshares` below): the order still rests and can still
# fill. An AMO Angel has accepted is OPEN: it is acknowledged, cancellable and goes to the
# exchange at the open. `open` with fills is PARTIALLY_FILLED (postback sample: 74 of 1000).
STATUS_MAP: dict[str, OrderStatus] = {
    "open": _S.OPEN,
    "complete": _S.FILLED,
    "rejected": _S.REJECTED,
    "cancelled": _S.CANCELLED,
    "trigger pending": _S.TRIGGER_PENDING,
    "open pending": _S.SUBMITTED,
    "validation pending": _S.SUBMITTED,
    "put order req received": _S.SUBMITTED,
    "modify pending": _S.OPEN,
    "modify validation pending": _S.OPEN,
    "modified": _S.OPEN,
    "not modified": _S.OPEN,
    "cancel pending": _S.OPEN,
    "not cancelled": _S.OPEN,
    "after market order req received": _S.OPEN,
    "modify after market order req received": _S.OPEN,
    "cancelled after market order": _S.CANCELLED,
}
_RESTING = frozenset({_S.OPEN})


def parse_envelope(route: str, http_status: int, body: bytes) -> object:
    """`data` of a successful SmartAPI answer; the typed error of any other (§1.7's 3 shapes)."""
    stripped = body.lstrip()
    if stripped[:1] == b"<":
        # The WAF's "Request Rejected" page (an unregistered IP, §6.3) will say the same on a
        # retry; a gateway's 5xx page will not.
        if http_status >= 500:
            raise BrokerUnavailableError("HTML error page", code=f"HTTP {http_status}", route=route)
        raise BrokerRejectedError(
            "request rejected by the firewall (HTML page); check the IP",
            code=f"HTTP {http_status}",
            route=route,
        )
    if stripped[:1] not in (b"{", b"["):
        return _non_json(route, http_status, stripped)
    doc = loads_exact(route, body)
    if not isinstance(doc, dict):
        raise MalformedResponseError(route, "body", "is not a JSON object")
    if "status" in doc:
        ok, code, message = doc["status"], doc.get("errorcode", ""), doc.get("message", "")
        field = "status"
    elif "success" in doc:  # the gateway's shape for token and IP errors (AG8001, AG7002)
        ok, code, message = doc["success"], doc.get("errorCode", ""), doc.get("message", "")
        field = "success"
    else:
        if http_status >= 500:
            raise BrokerUnavailableError("no envelope", code=f"HTTP {http_status}", route=route)
        raise MalformedResponseError(route, "status", "is missing (neither status nor success)")
    if ok in (True, "true"):  # the DOCS failure sample quotes booleans as strings
        if http_status >= 400:
            raise MalformedResponseError(route, field, f"is true on HTTP {http_status}")
        return doc.get("data")
    if ok not in (False, "false"):
        raise MalformedResponseError(route, field, f"{ok!r} is not a boolean")
    if http_status >= 500 and not code:
        raise BrokerUnavailableError(str(message), code=f"HTTP {http_status}", route=route)
    raise error_for_code(route, str(code or ""), str(message or ""))


def _non_json(route: str, http_status: int, body: bytes) -> object:
    what = body[:120].decode("utf-8", "replace").strip()
    if http_status in (403, 429) or RATE_LIMIT_TEXT.encode() in body:
        raise RateLimitedError(what or "rate limited", code=f"HTTP {http_status}", route=route)
    if http_status >= 500:
        raise BrokerUnavailableError(what or "no body", code=f"HTTP {http_status}", route=route)
    if http_status >= 400:
        raise BrokerRejectedError(what or "no body", code=f"HTTP {http_status}", route=route)
    raise MalformedResponseError(route, "body", "is not JSON")


@dataclass(frozen=True, slots=True)
class BrokerOrderRow:
    """One order as Angel reports it (§2.5), prices in paise, status in our vocabulary."""

    order_id: str
    unique_order_id: str
    tag: str
    symbol: str
    token: str
    exchange: str
    side: str
    order_type: str
    product: str
    variety: str
    duration: str
    quantity: int
    filled_quantity: int
    price_paise: int
    trigger_price_paise: int
    average_price_paise: int
    status: OrderStatus
    raw_status: str
    text: str
    update_time: str  # "13-Sep-2025 11:30:51", IST, as sent


@dataclass(frozen=True, slots=True)
class BrokerOrderAck:
    """placeOrder / modifyOrder / cancelOrder `data` (§2.3, §2.4)."""

    order_id: str
    unique_order_id: str


def parse_order_row(route: str, row: object) -> BrokerOrderRow:
    """A §2.5 order object (order book row, order details, order-status WS `orderData`)."""
    r = _row(route, row)
    raw_status = text(route, r, "status", default="") or text(route, r, "orderstatus")
    status = STATUS_MAP.get(raw_status.strip().lower())
    if status is None:
        raise MalformedResponseError(route, "status", f"unknown order status {raw_status!r}")
    filled = integer(route, r, "filledshares") if "filledshares" in r else 0
    if status in _RESTING and filled > 0:
        status = _S.PARTIALLY_FILLED
    return BrokerOrderRow(
        order_id=text(route, r, "orderid"),
        unique_order_id=text(route, r, "uniqueorderid", default=""),
        tag=text(route, r, "ordertag", default=""),
        symbol=text(route, r, "tradingsymbol"),
        token=text(route, r, "symboltoken", default=""),  # the DOCS sample shows null
        exchange=text(route, r, "exchange"),
        side=text(route, r, "transactiontype"),
        order_type=text(route, r, "ordertype"),
        product=text(route, r, "producttype"),
        variety=text(route, r, "variety"),
        duration=text(route, r, "duration"),
        quantity=integer(route, r, "quantity"),
        filled_quantity=filled,
        price_paise=price_paise(route, r, "price"),
        trigger_price_paise=price_paise(route, r, "triggerprice") if "triggerprice" in r else 0,
        average_price_paise=amount_paise(route, r, "averageprice") if "averageprice" in r else 0,
        status=status,
        raw_status=raw_status,
        text=text(route, r, "text", default=""),
        update_time=text(route, r, "updatetime", default=""),
    )


def parse_order_book(route: str, data: object) -> list[BrokerOrderRow]:
    """getOrderBook `data`: null (no orders today, §1.7) or an array of §2.5 rows."""
    return rows_of(route, data, parse_order_row)


def parse_order_ack(route: str, data: object) -> BrokerOrderAck:
    """The order id (and UUID) an order call returns; an ack without an id is malformed."""
    r = _row(route, data)
    order_id = text(route, r, "orderid")
    if not order_id:
        raise MalformedResponseError(route, "orderid", "is empty")
    return BrokerOrderAck(order_id, text(route, r, "uniqueorderid", default=""))


def _row(route: str, row: object) -> Row:
    if not isinstance(row, dict):
        raise MalformedResponseError(route, "data", f"is {type(row).__name__}, not an object")
    return row


# ---- request bodies: every value a string, prices as rupees with two decimals (§2.3) ----


def login_body(client_code: str, mpin: str, totp: str) -> dict[str, str]:
    """loginByPassword body (§1.3): `password` carries the MPIN. Never log the result."""
    return {"clientcode": client_code, "password": mpin, "totp": totp}


def _order_fields(
    order_type: str, quantity: int, price_paise: int, trigger_price_paise: int
) -> dict[str, str]:
    if quantity <= 0:
        raise OrderError(f"quantity must be positive, not {quantity}")
    if price_paise < 0 or trigger_price_paise < 0:
        raise OrderError("price and trigger price cannot be negative")
    fields = {
        "ordertype": order_type,
        "quantity": str(quantity),
        "price": rupees_str(0 if order_type.endswith("MARKET") else price_paise),
    }
    if order_type.startswith("STOPLOSS"):
        fields["triggerprice"] = rupees_str(trigger_price_paise)
    return fields


def place_order_body(
    *,
    variety: str,
    symbol: str,
    token: str,
    exchange: str,
    side: str,
    order_type: str,
    product: str,
    duration: str,
    quantity: int,
    price_paise: int = 0,
    trigger_price_paise: int = 0,
    tag: str = "",
    disclosed_quantity: int = 0,
) -> dict[str, str]:
    """placeOrder body (§2.3); `tag` is the order tag derived from our client order id."""
    if len(tag) > ORDER_TAG_MAX_LEN:
        raise OrderError(f"order tag {tag!r} is longer than {ORDER_TAG_MAX_LEN} characters")
    body = {
        "variety": variety,
        "tradingsymbol": symbol,
        "symboltoken": token,
        "transactiontype": side,
        "exchange": exchange,
        "producttype": product,
        "duration": duration,
        **_order_fields(order_type, quantity, price_paise, trigger_price_paise),
    }
    if disclosed_quantity:
        body["disclosedquantity"] = str(disclosed_quantity)
    if tag:
        body["ordertag"] = tag
    return body


def modify_order_body(
    *,
    variety: str,
    order_id: str,
    symbol: str,
    token: str,
    exchange: str,
    order_type: str,
    product: str,
    duration: str,
    quantity: int,
    price_paise: int = 0,
    trigger_price_paise: int = 0,
) -> dict[str, str]:
    """modifyOrder body (§2.4): the full new order, not a difference."""
    return {
        "variety": variety,
        "orderid": order_id,
        "tradingsymbol": symbol,
        "symboltoken": token,
        "exchange": exchange,
        "producttype": product,
        "duration": duration,
        **_order_fields(order_type, quantity, price_paise, trigger_price_paise),
    }


def cancel_order_body(variety: str, order_id: str) -> dict[str, str]:
    """cancelOrder body (§2.4)."""
    return {"variety": variety, "orderid": order_id}


def candle_body(
    exchange: str, token: str, interval: str, from_ist: dt.datetime, to_ist: dt.datetime
) -> dict[str, str]:
    """getCandleData body (§3); the span must fit the interval's maximum (split before)."""
    max_days = CANDLE_MAX_DAYS.get(interval)
    if max_days is None:
        raise ValueError(f"interval {interval!r} is not one of {sorted(CANDLE_MAX_DAYS)}")
    start, end = ist_naive(from_ist), ist_naive(to_ist)
    if end < start:
        raise ValueError(f"candle range ends ({end:%Y-%m-%d %H:%M}) before it starts")
    if end - start > dt.timedelta(days=max_days):
        raise ValueError(f"{interval} requests cover at most {max_days} days; split the range")
    return {
        "exchange": exchange,
        "symboltoken": token,
        "interval": interval,
        "fromdate": f"{start:%Y-%m-%d %H:%M}",
        "todate": f"{end:%Y-%m-%d %H:%M}",
    }
