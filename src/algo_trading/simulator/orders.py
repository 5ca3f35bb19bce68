"""Orders and trades as the simulated Angel One OMS keeps them, and the checks on a request.

Request-level faults (unknown variety, symbol or product; a tag of 20 characters or more) are
refused in the envelope (spec §1.8). Exchange-level faults (off-tick price, lot multiple, price
band, funds, market closed) give an order row with status "rejected" and the reason in `text`,
as Angel does (spec §2.3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from algo_trading.domain.instruments import Exchange, Instrument
from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.payload import body_int, body_paise, body_text

__all__ = [
    "AB_CODES",
    "DURATIONS",
    "ORDER_TYPES",
    "PRODUCTS",
    "VARIETIES",
    "SimOrder",
    "SimTrade",
    "Status",
    "body_int",
    "body_paise",
    "body_text",
    "check_request",
    "order_id",
]

VARIETIES = frozenset({"NORMAL", "STOPLOSS", "AMO", "ROBO"})
ORDER_TYPES = frozenset({"MARKET", "LIMIT", "STOPLOSS_LIMIT", "STOPLOSS_MARKET"})
PRODUCTS = frozenset({"DELIVERY", "CARRYFORWARD", "MARGIN", "INTRADAY", "BO"})
DURATIONS = frozenset({"DAY", "IOC"})


class Status:
    """Lower-case order status strings of the order book (spec §2.6)."""

    OPEN_PENDING = "open pending"
    OPEN = "open"
    TRIGGER_PENDING = "trigger pending"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    AMO_RECEIVED = "after market order req received"


# Order-status WebSocket codes (spec §5.2).
AB_CODES = {
    "connected": "AB00",
    "open": "AB01",
    "cancelled": "AB02",
    "rejected": "AB03",
    "modified": "AB04",
    "complete": "AB05",
    "amo_received": "AB06",
    "amo_cancelled": "AB07",
    "amo_modified": "AB08",
    "open_pending": "AB09",
    "trigger_pending": "AB10",
    "modify_pending": "AB11",
}


def check_request(body: Mapping[str, object]) -> None:
    """Refuse a placeOrder/modifyOrder body the way Angel refuses it in the envelope."""
    variety = body_text(body, "variety")
    if variety == "ROBO":
        raise RequestError("AB2002", "ROBO order is block")
    if variety not in VARIETIES:
        raise RequestError("AB1008", "Invalid Order Variety")
    if body_text(body, "ordertype") not in ORDER_TYPES:
        raise RequestError("AB1004", "Invalid Order Type")
    if body_text(body, "producttype") not in PRODUCTS:
        raise RequestError("AB1012", "Invalid Product Type")
    if body_text(body, "duration", "DAY") not in DURATIONS:
        raise RequestError("AB1004", "Invalid Duration")
    if len(body_text(body, "ordertag")) >= 20:
        raise RequestError("AB4008", "ordertag length should be less than 20 characters")


@dataclass(slots=True)
class SimOrder:
    """One order of the book; prices paise, quantities units, times epoch ns."""

    orderid: str
    uniqueorderid: str
    client_code: str
    instrument: Instrument
    variety: str
    transactiontype: str
    ordertype: str
    producttype: str
    duration: str
    price: int
    triggerprice: int
    quantity: int
    disclosedquantity: int
    ordertag: str
    status: str
    created_ns: int
    updated_ns: int
    text: str = ""
    filled: int = 0
    fill_value: int = 0
    cancelled_qty: int = 0
    exchangeorderid: str = ""
    exchange_ns: int = 0

    @property
    def is_buy(self) -> bool:
        return self.transactiontype == "BUY"

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled - self.cancelled_qty

    @property
    def exchange(self) -> Exchange:
        return self.instrument.exchange

    @property
    def is_working(self) -> bool:
        return self.status in (Status.OPEN, Status.TRIGGER_PENDING, Status.AMO_RECEIVED)

    @property
    def average_price(self) -> int:
        return self.fill_value // self.filled if self.filled else 0


@dataclass(frozen=True, slots=True)
class SimTrade:
    """One fill (a trade-book row)."""

    fillid: str
    order: SimOrder
    price: int
    quantity: int
    ts_ns: int


def order_id(day: dt.date, sequence: int) -> str:
    """15 digits: YYMMDD then a 9-digit sequence, like Angel's regular order ids (spec §2.3)."""
    return f"{day:%y%m%d}{sequence:09d}"
