"""SmartAPI books and market data: trades, positions, holdings, funds, LTP, quotes, candles.

Pure; imported through `parsing`. Field tables: specs/angel-one-smartapi.md §2.8-§2.13, §3.
Wire types differ between routes and between the DOCS and live captures (quoted numbers in one,
bare numbers in the other), so every reader accepts both and reads them exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from algo_trading.adapters.brokers.angelone.errors import MalformedResponseError
from algo_trading.adapters.brokers.angelone.packets import DepthLevel
from algo_trading.adapters.brokers.angelone.parsing_values import (
    Row,
    amount_paise,
    epoch_ns,
    integer,
    price_paise,
    text,
)

__all__ = [
    "BrokerFunds",
    "BrokerHoldingRow",
    "BrokerPositionRow",
    "BrokerTradeRow",
    "LtpQuote",
    "MarketQuote",
    "QuoteResult",
    "UnfetchedQuote",
    "parse_candles",
    "parse_funds",
    "parse_holding_row",
    "parse_holdings",
    "parse_ltp",
    "parse_position_row",
    "parse_positions",
    "parse_quote",
    "parse_trade_row",
    "parse_trades",
    "rows_of",
]

T = TypeVar("T")


def _obj(route: str, value: object, field: str) -> Row:
    if not isinstance(value, dict):
        raise MalformedResponseError(route, field, f"is {type(value).__name__}, not an object")
    return value


# What a row parser calls the row itself when the row is not an object (or not a candle).
_ROW_ITSELF = frozenset({"data", "fetched", "unfetched", "candle"})


def rows_of(
    route: str, data: object, parse_row: Callable[[str, object], T], where: str = "data"
) -> list[T]:
    """A book: `data: null` is an empty book (§1.7); row errors name the row's index,
    as in `data[3].price` (`where` is the array's own name)."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise MalformedResponseError(route, where, f"is {type(data).__name__}, not an array")
    out = []
    for i, row in enumerate(data):
        try:
            out.append(parse_row(route, row))
        except MalformedResponseError as e:
            field = f"{where}[{i}]" if e.field in _ROW_ITSELF else f"{where}[{i}].{e.field}"
            raise MalformedResponseError(route, field, e.problem) from None
    return out


@dataclass(frozen=True, slots=True)
class BrokerTradeRow:
    """One fill of the trade book (§2.8); `fill_time` is "HH:MM:SS" IST of today."""

    order_id: str
    fill_id: str
    symbol: str
    exchange: str
    side: str
    product: str
    fill_price_paise: int
    fill_quantity: int
    fill_time: str


def parse_trade_row(route: str, row: object) -> BrokerTradeRow:
    r = _obj(route, row, "data")
    return BrokerTradeRow(
        order_id=text(route, r, "orderid"),
        fill_id=text(route, r, "fillid"),
        symbol=text(route, r, "tradingsymbol"),
        exchange=text(route, r, "exchange"),
        side=text(route, r, "transactiontype"),
        product=text(route, r, "producttype", default=""),
        fill_price_paise=price_paise(route, r, "fillprice"),
        fill_quantity=integer(route, r, "fillsize"),
        fill_time=text(route, r, "filltime", default=""),
    )


def parse_trades(route: str, data: object) -> list[BrokerTradeRow]:
    return rows_of(route, data, parse_trade_row)


@dataclass(frozen=True, slots=True)
class BrokerPositionRow:
    """One getPosition row (§2.11); `net_quantity` is signed (negative = short)."""

    symbol: str
    token: str
    exchange: str
    product: str
    net_quantity: int
    buy_quantity: int
    sell_quantity: int
    buy_avg_paise: int
    sell_avg_paise: int
    ltp_paise: int  # 0 when the row has no `ltp` (absent from the DOCS sample)
    pnl_paise: int  # 0 when the row has no `pnl`


def parse_position_row(route: str, row: object) -> BrokerPositionRow:
    r = _obj(route, row, "data")
    return BrokerPositionRow(
        symbol=text(route, r, "tradingsymbol"),
        token=text(route, r, "symboltoken"),
        exchange=text(route, r, "exchange"),
        product=text(route, r, "producttype"),
        net_quantity=integer(route, r, "netqty", signed=True),
        buy_quantity=integer(route, r, "buyqty"),
        sell_quantity=integer(route, r, "sellqty"),
        buy_avg_paise=amount_paise(route, r, "buyavgprice"),
        sell_avg_paise=amount_paise(route, r, "sellavgprice"),
        ltp_paise=amount_paise(route, r, "ltp") if "ltp" in r else 0,
        pnl_paise=amount_paise(route, r, "pnl", signed=True) if "pnl" in r else 0,
    )


def parse_positions(route: str, data: object) -> list[BrokerPositionRow]:
    return rows_of(route, data, parse_position_row)


@dataclass(frozen=True, slots=True)
class BrokerHoldingRow:
    """One demat holding (§2.12); `t1_quantity` is bought but not yet delivered (T+1)."""

    symbol: str
    token: str
    exchange: str
    isin: str
    quantity: int
    t1_quantity: int
    average_price_paise: int
    ltp_paise: int
    close_paise: int
    pnl_paise: int


def parse_holding_row(route: str, row: object) -> BrokerHoldingRow:
    r = _obj(route, row, "data")
    return BrokerHoldingRow(
        symbol=text(route, r, "tradingsymbol"),
        token=text(route, r, "symboltoken"),
        exchange=text(route, r, "exchange"),
        isin=text(route, r, "isin", default=""),
        quantity=integer(route, r, "quantity"),
        t1_quantity=integer(route, r, "t1quantity") if "t1quantity" in r else 0,
        average_price_paise=amount_paise(route, r, "averageprice"),
        ltp_paise=amount_paise(route, r, "ltp"),
        close_paise=amount_paise(route, r, "close") if "close" in r else 0,
        pnl_paise=(
            amount_paise(route, r, "profitandloss", signed=True) if "profitandloss" in r else 0
        ),
    )


def parse_holdings(route: str, data: object) -> list[BrokerHoldingRow]:
    """getHolding `data` (array or null) or getAllHolding `data` ({holdings: array|null})."""
    if isinstance(data, dict):
        return rows_of(route, data.get("holdings"), parse_holding_row)
    return rows_of(route, data, parse_holding_row)


@dataclass(frozen=True, slots=True)
class BrokerFunds:
    """getRMS (§2.13), in paise; the fields a risk check and the dashboard read."""

    net_paise: int
    available_cash_paise: int
    available_intraday_payin_paise: int
    collateral_paise: int
    m2m_realized_paise: int
    m2m_unrealized_paise: int
    utilised_debits_paise: int


def parse_funds(route: str, data: object) -> BrokerFunds:
    r = _obj(route, data, "data")

    # Balances, M2M and debits are all read signed: a debit balance makes `net` and
    # `availablecash` negative, and an adjustment can reverse the others; refusing the whole
    # RMS answer over a sign would blind the risk checks that read it.
    def opt(field: str) -> int:
        # DOCS lists these as strings and may send null for an unused segment.
        return amount_paise(route, r, field, signed=True) if r.get(field) is not None else 0

    return BrokerFunds(
        net_paise=amount_paise(route, r, "net", signed=True),
        available_cash_paise=amount_paise(route, r, "availablecash", signed=True),
        available_intraday_payin_paise=opt("availableintradaypayin"),
        collateral_paise=opt("collateral"),
        m2m_realized_paise=opt("m2mrealized"),
        m2m_unrealized_paise=opt("m2munrealized"),
        utilised_debits_paise=opt("utiliseddebits"),
    )


@dataclass(frozen=True, slots=True)
class LtpQuote:
    """getLtpData `data` (§2.9); `close_paise` is the previous session's close."""

    exchange: str
    symbol: str
    token: str
    ltp_paise: int
    open_paise: int
    high_paise: int
    low_paise: int
    close_paise: int


def parse_ltp(route: str, data: object) -> LtpQuote:
    r = _obj(route, data, "data")

    def opt(field: str) -> int:
        return price_paise(route, r, field) if field in r else 0

    return LtpQuote(
        exchange=text(route, r, "exchange"),
        symbol=text(route, r, "tradingsymbol"),
        token=text(route, r, "symboltoken"),
        ltp_paise=price_paise(route, r, "ltp"),
        open_paise=opt("open"),
        high_paise=opt("high"),
        low_paise=opt("low"),
        close_paise=opt("close"),
    )


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """One `fetched` entry of market/v1/quote (§2.10); fields beyond the mode are 0 or empty."""

    exchange: str
    symbol: str
    token: str
    ltp_paise: int
    open_paise: int = 0
    high_paise: int = 0
    low_paise: int = 0
    close_paise: int = 0
    last_trade_qty: int = 0
    avg_price_paise: int = 0
    volume: int = 0
    open_interest: int = 0
    total_buy_qty: int = 0
    total_sell_qty: int = 0
    upper_circuit_paise: int = 0
    lower_circuit_paise: int = 0
    week52_high_paise: int = 0
    week52_low_paise: int = 0
    exch_feed_time: str = ""
    depth_buy: tuple[DepthLevel, ...] = ()
    depth_sell: tuple[DepthLevel, ...] = ()


@dataclass(frozen=True, slots=True)
class UnfetchedQuote:
    """An `unfetched` entry: a token Angel could not quote, with its code (e.g. AB4018)."""

    exchange: str
    token: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class QuoteResult:
    fetched: tuple[MarketQuote, ...]
    unfetched: tuple[UnfetchedQuote, ...]


_QUOTE_PRICES = {
    "open": "open_paise",
    "high": "high_paise",
    "low": "low_paise",
    "close": "close_paise",
    "avgPrice": "avg_price_paise",
    "upperCircuit": "upper_circuit_paise",
    "lowerCircuit": "lower_circuit_paise",
    "52WeekHigh": "week52_high_paise",
    "52WeekLow": "week52_low_paise",
}
_QUOTE_COUNTS = {
    "lastTradeQty": "last_trade_qty",
    "tradeVolume": "volume",
    "opnInterest": "open_interest",
    "totBuyQuan": "total_buy_qty",
    "totSellQuan": "total_sell_qty",
}


def _depth(route: str, r: Row, side: str) -> tuple[DepthLevel, ...]:
    depth = r.get("depth")
    if depth is None:
        return ()
    levels = _obj(route, depth, "depth").get(side) or []
    if not isinstance(levels, list):
        raise MalformedResponseError(route, f"depth.{side}", "is not an array")
    out = []
    for i, x in enumerate(levels):
        where = f"depth.{side}[{i}]"
        lv = _obj(route, x, where)
        try:
            level = DepthLevel(
                integer(route, lv, "quantity"),
                price_paise(route, lv, "price"),
                integer(route, lv, "orders"),
            )
        except MalformedResponseError as e:
            raise MalformedResponseError(route, f"{where}.{e.field}", e.problem) from None
        out.append(level)
    return tuple(out)


def _market_quote(route: str, row: object) -> MarketQuote:
    r = _obj(route, row, "fetched")
    extra: dict[str, int] = {}
    for wire, ours in _QUOTE_PRICES.items():
        if r.get(wire) is not None:
            extra[ours] = price_paise(route, r, wire)
    for wire, ours in _QUOTE_COUNTS.items():
        if r.get(wire) is not None:
            extra[ours] = integer(route, r, wire)
    return MarketQuote(
        exchange=text(route, r, "exchange"),
        symbol=text(route, r, "tradingSymbol"),
        token=text(route, r, "symbolToken"),
        ltp_paise=price_paise(route, r, "ltp"),
        exch_feed_time=text(route, r, "exchFeedTime", default=""),
        depth_buy=_depth(route, r, "buy"),
        depth_sell=_depth(route, r, "sell"),
        **extra,
    )


def _unfetched(route: str, row: object) -> UnfetchedQuote:
    r = _obj(route, row, "unfetched")
    return UnfetchedQuote(
        exchange=text(route, r, "exchange", default=""),
        token=text(route, r, "symbolToken", default=""),
        code=text(route, r, "errorCode", default=""),
        message=text(route, r, "message", default=""),
    )


def parse_quote(route: str, data: object) -> QuoteResult:
    """market/v1/quote `data`: {fetched: [...], unfetched: [...]} in LTP, OHLC or FULL mode."""
    r = _obj(route, data, "data")
    fetched = rows_of(route, r.get("fetched"), _market_quote, "fetched")
    unfetched = rows_of(route, r.get("unfetched"), _unfetched, "unfetched")
    return QuoteResult(tuple(fetched), tuple(unfetched))


Candle = tuple[int, int, int, int, int, int]


def _candle(route: str, row: object) -> Candle:
    if not isinstance(row, list) or len(row) != 6:
        raise MalformedResponseError(route, "candle", "is not [timestamp, o, h, l, c, volume]")
    stamp = row[0]
    if not isinstance(stamp, str):
        raise MalformedResponseError(route, "timestamp", "is not an ISO-8601 string")
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise MalformedResponseError(route, "timestamp", f"{stamp!r} is not ISO-8601") from None
    r = dict(zip(("open", "high", "low", "close", "volume"), row[1:], strict=True))
    o, h, lo, c = (price_paise(route, r, k) for k in ("open", "high", "low", "close"))
    if not lo <= min(o, c) <= max(o, c) <= h:
        raise MalformedResponseError(route, "candle", f"{stamp}: high/low do not bound open/close")
    return (epoch_ns(route, "timestamp", when), o, h, lo, c, integer(route, r, "volume"))


def parse_candles(route: str, data: object) -> list[Candle]:
    """getCandleData `data` (§3): rows (ts_ns of the candle start, o, h, l, c paise, volume)."""
    return rows_of(route, data, _candle)
