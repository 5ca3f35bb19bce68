"""Market events a strategy sees. Prices are integer paise; times are epoch nanoseconds (UTC).

`Bar` is built once per bar on the hot path, so it is a plain slotted class rather than a
dataclass; treat it as read-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from algo_trading.domain._build import twin
from algo_trading.domain.orders import OrderEvent

__all__ = [
    "IST",
    "Bar",
    "ExecutionReport",
    "Tick",
    "execution_report",
    "ist_day",
    "ist_minute",
    "ns_to_ist",
    "parse_hhmm",
]

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
"""India Standard Time: UTC+05:30 all year, no daylight saving (indian-market.md §2.1)."""


_IST_OFFSET_NS = 19_800 * 10**9
_NS_PER_MINUTE = 60 * 10**9


def ist_day(ts_ns: int) -> int:
    """Days since 1970-01-01 in IST: bars of one trading day share it."""
    return (ts_ns + _IST_OFFSET_NS) // (1440 * _NS_PER_MINUTE)


def ist_minute(ts_ns: int) -> int:
    """Minutes since midnight IST (09:15 is 555)."""
    return ((ts_ns + _IST_OFFSET_NS) // _NS_PER_MINUTE) % 1440


def parse_hhmm(text: str, what: str = "time") -> int:
    """'15:10' -> 910 minutes since midnight; ValueError naming `what` otherwise."""
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not HH:MM") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{what} {text!r} is not a time of day")
    return h * 60 + m


def ns_to_ist(ts_ns: int) -> dt.datetime:
    """Epoch nanoseconds -> an aware datetime in IST."""
    return dt.datetime.fromtimestamp(ts_ns / 1_000_000_000, tz=IST).replace(
        microsecond=(ts_ns // 1000) % 1_000_000
    )


class Bar:
    """One OHLCV bar of `symbol` that opened at `ts_ns`; prices in paise."""

    __slots__ = ("close", "high", "low", "open", "symbol", "ts_ns", "volume")

    def __init__(
        self, symbol: str, ts_ns: int, open: int, high: int, low: int, close: int, volume: int
    ) -> None:
        self.symbol = symbol
        self.ts_ns = ts_ns
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    @property
    def time(self) -> dt.datetime:
        return ns_to_ist(self.ts_ns)

    def __repr__(self) -> str:
        return (
            f"Bar({self.symbol} {self.time.isoformat()} o={self.open} h={self.high} "
            f"l={self.low} c={self.close} v={self.volume})"
        )


@dataclass(frozen=True, slots=True)
class Tick:
    """A last-traded-price update, with the best bid and ask when the feed has them."""

    symbol: str
    ts_ns: int
    ltp_paise: int
    last_quantity: int = 0
    volume: int = 0
    bid_paise: int | None = None
    ask_paise: int | None = None


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """What a broker says about one of our orders, mapped onto the lifecycle's events.

    For FILL and PARTIAL_FILL the fill fields are set; the engine decides which of the two
    applies from the quantity that remains, so a venue may send either.
    """

    client_order_id: str
    event: OrderEvent
    ts_ns: int
    broker_order_id: str | None = None
    fill_quantity: int = 0
    fill_price_paise: int = 0
    trade_id: str = ""
    reason: str = ""


_ReportTwin = twin(ExecutionReport)


def execution_report(
    client_order_id: str,
    event: OrderEvent,
    ts_ns: int,
    broker_order_id: str | None = None,
    fill_quantity: int = 0,
    fill_price_paise: int = 0,
    trade_id: str = "",
    reason: str = "",
) -> ExecutionReport:
    """`ExecutionReport(...)` at a third of the cost, for venues that send one per order
    event (see `domain._build`)."""
    r = _ReportTwin()
    r.client_order_id = client_order_id
    r.event = event
    r.ts_ns = ts_ns
    r.broker_order_id = broker_order_id
    r.fill_quantity = fill_quantity
    r.fill_price_paise = fill_price_paise
    r.trade_id = trade_id
    r.reason = reason
    r.__class__ = ExecutionReport
    report: ExecutionReport = r
    return report
