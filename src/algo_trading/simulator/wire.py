"""JSON shapes of the Angel One wire: envelopes (spec §1.7) and rows (§2.5, §2.8, §2.10-§2.13).

Prices are rupees here and only here: JSON numbers in order rows and quotes, strings where the
real service sends strings (quantities in order rows, every field of positions and funds).
"""

from __future__ import annotations

from typing import Any

from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.instruments import InstrumentType
from algo_trading.domain.money import paise_to_decimal
from algo_trading.simulator.accounts import Account, Holding, Position
from algo_trading.simulator.market import Quote
from algo_trading.simulator.orders import SimOrder, SimTrade

__all__ = [
    "ORDER_FIELDS",
    "RATE_LIMIT_TEXT",
    "empty_order_row",
    "envelope",
    "failure",
    "gateway_error",
    "holding_row",
    "holdings_total",
    "order_row",
    "position_row",
    "quote_row",
    "rms_row",
    "rupees",
    "rupees_text",
    "trade_row",
    "wire_time",
]

RATE_LIMIT_TEXT = "Access denied because of exceeding access rate"
_INSTRUMENT_TYPES = {
    InstrumentType.EQUITY: "",
    InstrumentType.INDEX: "AMXIDX",
    InstrumentType.FUTURE: "FUTIDX",
    InstrumentType.OPTION: "OPTIDX",
}


def rupees(paise: int) -> float:
    """Paise as a JSON number of rupees (exact for every amount below 2**53 paise)."""
    return float(paise_to_decimal(paise))


def rupees_text(paise: int) -> str:
    return str(paise_to_decimal(paise))


def wire_time(ts_ns: int) -> str:
    """'13-Sep-2025 11:30:51', IST (spec §2.5)."""
    return ns_to_ist(ts_ns).strftime("%d-%b-%Y %H:%M:%S") if ts_ns else ""


def envelope(data: Any, message: str = "SUCCESS") -> dict[str, Any]:
    return {"status": True, "message": message, "errorcode": "", "data": data}


def failure(code: str, message: str) -> dict[str, Any]:
    return {"status": False, "message": message, "errorcode": code, "data": None}


def gateway_error(code: str, message: str) -> dict[str, Any]:
    """The gateway's other shape: `success` and camel-case `errorCode` (spec §1.7, 2)."""
    return {"success": False, "message": message, "errorCode": code, "data": ""}


def _contract_fields(order: SimOrder) -> dict[str, Any]:
    inst = order.instrument
    return {
        "instrumenttype": _INSTRUMENT_TYPES[inst.instrument_type],
        "strikeprice": rupees(inst.strike_paise) if inst.strike_paise else -1.0,
        "optiontype": inst.option_right.value if inst.option_right else "",
        "expirydate": inst.expiry.strftime("%d%b%Y").upper() if inst.expiry else "",
        "lotsize": str(inst.lot_size),
    }


def order_row(order: SimOrder) -> dict[str, Any]:
    """One order in the §2.5 shape: numbers for prices, strings for quantities."""
    exch_time = wire_time(order.exchange_ns)
    return {
        "variety": order.variety,
        "ordertype": order.ordertype,
        "producttype": order.producttype,
        "duration": order.duration,
        "price": rupees(order.price),
        "triggerprice": rupees(order.triggerprice),
        "quantity": str(order.quantity),
        "disclosedquantity": str(order.disclosedquantity),
        "squareoff": 0.0,
        "stoploss": 0.0,
        "trailingstoploss": 0.0,
        "tradingsymbol": order.instrument.symbol,
        "transactiontype": order.transactiontype,
        "exchange": order.exchange.value,
        "symboltoken": str(order.instrument.token),
        "ordertag": order.ordertag,
        **_contract_fields(order),
        "cancelsize": str(order.cancelled_qty),
        "averageprice": rupees(order.average_price),
        "filledshares": str(order.filled),
        "unfilledshares": str(order.quantity - order.filled),
        "orderid": order.orderid,
        "text": order.text,
        "status": order.status,
        "orderstatus": order.status,
        "updatetime": wire_time(order.updated_ns),
        "exchtime": exch_time,
        "exchorderupdatetime": exch_time,
        "fillid": "",
        "filltime": "",
        "parentorderid": "",
        "uniqueorderid": order.uniqueorderid,
        "exchangeorderid": order.exchangeorderid,
        "algoID": "99999",
        "clientcode": order.client_code,
    }


_NUMBER_FIELDS = frozenset(
    {"price", "triggerprice", "squareoff", "stoploss", "trailingstoploss", "strikeprice"}
    | {"averageprice"}
)
ORDER_FIELDS = [
    "variety",
    "ordertype",
    "producttype",
    "duration",
    "price",
    "triggerprice",
    "quantity",
    "disclosedquantity",
    "squareoff",
    "stoploss",
    "trailingstoploss",
    "tradingsymbol",
    "transactiontype",
    "exchange",
    "symboltoken",
    "ordertag",
    "instrumenttype",
    "strikeprice",
    "optiontype",
    "expirydate",
    "lotsize",
    "cancelsize",
    "averageprice",
    "filledshares",
    "unfilledshares",
    "orderid",
    "text",
    "status",
    "orderstatus",
    "updatetime",
    "exchtime",
    "exchorderupdatetime",
    "fillid",
    "filltime",
    "parentorderid",
    "uniqueorderid",
    "exchangeorderid",
    "algoID",
    "clientcode",
]


def empty_order_row() -> dict[str, Any]:
    """The order of the order-WS AB00 frame: every field, empty or zero (spec §5.2)."""
    return {key: 0.0 if key in _NUMBER_FIELDS else "" for key in ORDER_FIELDS}


def trade_row(trade: SimTrade) -> dict[str, Any]:
    """One fill (§2.8); the simulator sends quantities and values as strings, like positions."""
    order = trade.order
    fields = _contract_fields(order)
    return {
        "exchange": order.exchange.value,
        "producttype": order.producttype,
        "tradingsymbol": order.instrument.symbol,
        "instrumenttype": fields["instrumenttype"],
        "symbolgroup": "EQ" if not fields["instrumenttype"] else "XX",
        "strikeprice": str(fields["strikeprice"]),
        "optiontype": fields["optiontype"],
        "expirydate": fields["expirydate"],
        "marketlot": fields["lotsize"],
        "precision": "2",
        "multiplier": "-1",
        "tradevalue": rupees_text(trade.price * trade.quantity),
        "transactiontype": order.transactiontype,
        "fillprice": rupees(trade.price),
        "fillsize": str(trade.quantity),
        "orderid": order.orderid,
        "fillid": trade.fillid,
        "filltime": ns_to_ist(trade.ts_ns).strftime("%H:%M:%S"),
    }


def position_row(pos: Position, ltp: int) -> dict[str, Any]:
    """One position (§2.11): every value a string, as OPENALGO reports."""
    inst = pos.instrument
    net = pos.net_qty
    buy_avg = pos.buy_value // pos.buy_qty if pos.buy_qty else 0
    sell_avg = pos.sell_value // pos.sell_qty if pos.sell_qty else 0
    cf_buy_avg = pos.cf_buy_value // pos.cf_buy_qty if pos.cf_buy_qty else 0
    cf_sell_avg = pos.cf_sell_value // pos.cf_sell_qty if pos.cf_sell_qty else 0
    pnl = pos.realised + pos.unrealised(ltp)
    strike = rupees_text(inst.strike_paise) if inst.strike_paise else "-1"
    return {
        "exchange": inst.exchange.value,
        "symboltoken": str(inst.token),
        "producttype": pos.product,
        "tradingsymbol": inst.symbol,
        "symbolname": inst.name,
        "instrumenttype": _INSTRUMENT_TYPES[inst.instrument_type],
        "priceden": "1.00",
        "pricenum": "1.00",
        "genden": "1.00",
        "gennum": "1.00",
        "precision": "2",
        "multiplier": "-1",
        "boardlotsize": "1",
        "buyqty": str(pos.buy_qty - pos.cf_buy_qty),  # the day's part; cf* is carried
        "sellqty": str(pos.sell_qty - pos.cf_sell_qty),
        "buyamount": rupees_text(pos.buy_value - pos.cf_buy_value),
        "sellamount": rupees_text(pos.sell_value - pos.cf_sell_value),
        "symbolgroup": "EQ",
        "strikeprice": strike,
        "optiontype": inst.option_right.value if inst.option_right else "",
        "expirydate": inst.expiry.strftime("%d%b%Y").upper() if inst.expiry else "",
        "lotsize": str(inst.lot_size),
        "cfbuyqty": str(pos.cf_buy_qty),
        "cfsellqty": str(pos.cf_sell_qty),
        "cfbuyamount": rupees_text(pos.cf_buy_value),
        "cfsellamount": rupees_text(pos.cf_sell_value),
        "buyavgprice": rupees_text(buy_avg),
        "sellavgprice": rupees_text(sell_avg),
        "avgnetprice": rupees_text(pos.open_avg),
        "netvalue": rupees_text(pos.sell_value - pos.buy_value),
        "netqty": str(net),
        "totalbuyvalue": rupees_text(pos.buy_value),
        "totalsellvalue": rupees_text(pos.sell_value),
        "cfbuyavgprice": rupees_text(cf_buy_avg),
        "cfsellavgprice": rupees_text(cf_sell_avg),
        "totalbuyavgprice": rupees_text(buy_avg),
        "totalsellavgprice": rupees_text(sell_avg),
        "netprice": rupees_text(pos.open_avg),
        "ltp": rupees_text(ltp),
        "pnl": rupees_text(pnl),
    }


def holding_row(holding: Holding, ltp: int, close: int) -> dict[str, Any]:
    """One demat holding (§2.12): numbers, with the token as a string."""
    inst = holding.instrument
    pnl = holding.quantity * ltp - holding.cost_paise
    return {
        "tradingsymbol": inst.symbol,
        "exchange": inst.exchange.value,
        "isin": "",  # the simulated master carries no ISINs
        "t1quantity": 0,
        "realisedquantity": holding.quantity,
        "quantity": holding.quantity,
        "authorisedquantity": 0,
        "product": "DELIVERY",
        "collateralquantity": None,
        "collateraltype": None,
        "haircut": 0.0,
        "averageprice": rupees(holding.avg_price),
        "ltp": rupees(ltp),
        "symboltoken": str(inst.token),
        "close": rupees(close),
        "profitandloss": rupees(pnl),
        "pnlpercentage": _percent(pnl, holding.cost_paise),
    }


def holdings_total(rows: list[tuple[Holding, int]]) -> dict[str, Any]:
    """getAllHolding's `totalholding` over (holding, ltp) pairs (§2.12)."""
    value = sum(h.quantity * ltp for h, ltp in rows)
    invested = sum(h.cost_paise for h, _ in rows)
    return {
        "totalholdingvalue": rupees(value),
        "totalinvvalue": rupees(invested),
        "totalprofitandloss": rupees(value - invested),
        "totalpnlpercentage": _percent(value - invested, invested),
    }


def _percent(part: int, whole: int) -> float:
    """A percentage for display, two decimals (never used to decide anything)."""
    return round(part * 100 / whole, 2) if whole else 0.0


def rms_row(account: Account, unrealised: int) -> dict[str, Any]:
    """Funds (§2.13), all strings."""
    used = account.used_margin
    return {
        "net": rupees_text(account.available),
        "availablecash": rupees_text(account.available),
        "availableintradaypayin": "0.00",
        "availablelimitmargin": "0.00",
        "collateral": "0.00",
        "m2munrealized": rupees_text(unrealised),
        "m2mrealized": rupees_text(account.realised),
        "utiliseddebits": rupees_text(used),
        "utilisedspan": "0.00",
        "utilisedoptionpremium": "0.00",
        "utilisedholdingsales": "0.00",
        "utilisedexposure": "0.00",
        "utilisedturnover": "0.00",
        "utilisedpayout": rupees_text(used),
    }


def quote_row(quote: Quote, mode: str) -> dict[str, Any]:
    """A fetched market quote (§2.10), camelCase, rupees as numbers."""
    inst = quote.instrument
    row: dict[str, Any] = {
        "exchange": inst.exchange.value,
        "tradingSymbol": inst.symbol,
        "symbolToken": str(inst.token),
        "ltp": rupees(quote.ltp),
    }
    if mode in ("OHLC", "FULL"):
        row.update(
            open=rupees(quote.open),
            high=rupees(quote.high),
            low=rupees(quote.low),
            close=rupees(quote.close),
        )
    if mode == "FULL":
        change = quote.ltp - quote.close
        band = quote.band
        row.update(
            {
                "lastTradeQty": quote.last_qty,
                "exchFeedTime": wire_time(quote.last_trade_ns),
                "exchTradeTime": wire_time(quote.last_trade_ns),
                "netChange": rupees(change),
                "percentChange": round(change * 100 / quote.close, 2) if quote.close else 0.0,
                "avgPrice": rupees(quote.avg_price),
                "tradeVolume": quote.volume,
                "opnInterest": quote.open_interest,
                "lowerCircuit": rupees(band.lower_paise) if band else 0.0,
                "upperCircuit": rupees(band.upper_paise) if band else 0.0,
                "totBuyQuan": sum(q for _, q, _ in quote.best_bids()),
                "totSellQuan": sum(q for _, q, _ in quote.best_asks()),
                "52WeekLow": rupees(quote.week52_low),
                "52WeekHigh": rupees(quote.week52_high),
                "depth": {
                    "buy": [
                        {"price": rupees(p), "quantity": q, "orders": o}
                        for p, q, o in quote.best_bids()
                    ],
                    "sell": [
                        {"price": rupees(p), "quantity": q, "orders": o}
                        for p, q, o in quote.best_asks()
                    ],
                },
            }
        )
    return row
