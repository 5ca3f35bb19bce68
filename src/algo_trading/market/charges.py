"""Transaction charges of a round trip, exact (indian-market.md §1).

Amounts are exact fractions of paise inside (brokerage as the broker's Decimal, every other line
in integers) and whole paise out. Rounding follows §1.3: STT to the rupee,
half-up, for each side on its own (a delivery buy and its sell are on separate contract notes);
every other line half-up to the paisa; GST on the already rounded lines; the total is the sum of
the lines. Each side takes the rates of its own trade date, so a delivery bought before a rate
change and sold after it pays each side's STT at the rate of its day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Protocol

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.instruments import Exchange
from algo_trading.market.charge_rates import (
    BSE_DEFAULT_CASH_GROUP,
    BSE_DEFAULT_OPTION_CLASS,
    ZERODHA,
    ChargeSegment,
    StatutoryRates,
    rates_on,
)

__all__ = ["BrokerageSchedule", "ChargeBreakdown", "round_trip_charges"]

_CASH = (ChargeSegment.EQUITY_DELIVERY, ChargeSegment.EQUITY_INTRADAY)
_PRECISION = 60  # enough digits that no product of a value and a rate is ever rounded


class BrokerageSchedule(Protocol):
    """What the calculator needs of a broker (`market.charge_rates.BrokerSchedule` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def dp_charge_paise(self) -> int:
        """DP charge per scrip per delivery-sell day, before GST."""
        ...

    def brokerage(self, segment: ChargeSegment, value_paise: int, orders: int) -> Decimal:
        """Brokerage in paise (unrounded) for `orders` executed orders worth `value_paise`."""
        ...


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    """The lines of §1.4's tables, in paise; `total_paise` is their sum."""

    brokerage_paise: int
    stt_paise: int
    exchange_paise: int
    sebi_paise: int
    stamp_paise: int
    gst_paise: int
    dp_paise: int

    @property
    def total_paise(self) -> int:
        return sum(self.lines().values())

    def lines(self) -> dict[str, int]:
        """Line name -> paise, in the order a contract note prints them."""
        return {
            "brokerage": self.brokerage_paise,
            "stt": self.stt_paise,
            "exchange_charges": self.exchange_paise,
            "sebi_fees": self.sebi_paise,
            "stamp_duty": self.stamp_paise,
            "gst": self.gst_paise,
            "dp_charges": self.dp_paise,
        }


def _to_paisa(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def round_trip_charges(
    segment: ChargeSegment,
    buy_value_paise: int,
    sell_value_paise: int,
    *,
    exchange: Exchange = Exchange.NSE,
    broker: BrokerageSchedule = ZERODHA,
    trade_date: dt.date | None = None,
    sell_date: dt.date | None = None,
    buy_orders: int = 1,
    sell_orders: int = 1,
    bse_class: str | None = None,
) -> ChargeBreakdown:
    """Charges of buying for `buy_value_paise` and selling for `sell_value_paise` (options:
    premium × quantity) in one scrip.

    `trade_date` picks the rates of both sides, `sell_date` (default: `trade_date`) those of
    the sell side; None means the newest rates. `buy_orders` and `sell_orders` count executed
    orders, each paying brokerage (§1.2: every slice is an order); 0 means that side's
    brokerage is paid elsewhere. A side of value 0 is a one-sided calculation. `bse_class` is
    the BSE scrip group for cash (default A) or the option class for options (default SENSEX).
    """
    _check(segment, buy_value_paise, sell_value_paise, buy_orders, sell_orders)
    market = _market(exchange, segment)
    buy_rates = rates_on(trade_date)
    sell_rates = buy_rates if sell_date is None else rates_on(sell_date)
    buy, sell = buy_value_paise, sell_value_paise
    with localcontext(prec=_PRECISION):
        brokerage = _to_paisa(broker.brokerage(segment, buy, buy_orders)) + _to_paisa(
            broker.brokerage(segment, sell, sell_orders)
        )
    # Every other line in integers: each rate is an exact fraction n / d, a value times it
    # rounded half up is (2 * value * n + d) // (2 * d) (nothing here is negative), the same
    # as the Decimal product at _PRECISION digits rounded half up, and several times faster.
    bn, bd = _side_rates(buy_rates, market, segment, bse_class)
    sn, sd = bn, bd
    if sell_rates is not buy_rates:
        sn, sd = _side_rates(sell_rates, market, segment, bse_class)
    stt = _half_up(buy * bn[0], 100 * bd[0]) * 100 + _half_up(sell * sn[1], 100 * sd[1]) * 100
    exchange_paise = _half_up(buy * bn[2] * sd[2] + sell * sn[2] * bd[2], bd[2] * sd[2])
    sebi = _half_up(buy * bn[3] * sd[3] + sell * sn[3] * bd[3], bd[3] * sd[3])
    stamp = _half_up(buy * bn[4], bd[4])
    gst = _half_up(sn[5] * (brokerage + exchange_paise + sebi), sd[5])
    dp = 0
    if segment is ChargeSegment.EQUITY_DELIVERY and sell_value_paise > 0:
        # DP is charged per scrip per sell day with its own GST, and posted to the ledger
        # rather than the contract note (§1.2); §1.4 shows it as its own line.
        dp = _half_up(broker.dp_charge_paise * (sd[5] + sn[5]), sd[5])
    return ChargeBreakdown(
        brokerage_paise=brokerage,
        stt_paise=stt,
        exchange_paise=exchange_paise,
        sebi_paise=sebi,
        stamp_paise=stamp,
        gst_paise=gst,
        dp_paise=dp,
    )


def _half_up(n: int, d: int) -> int:
    """n / d rounded half up, for n >= 0 and d > 0."""
    return (2 * n + d) // (2 * d)


# (numerators, denominators) of one side's rates, in the order: STT buy, STT sell, exchange,
# SEBI, stamp (buy), GST; keyed by the rates row (kept in the value, so its id stays its own),
# the market, the segment and the BSE class.
_SideRates = tuple[tuple[int, ...], tuple[int, ...]]
_SIDE_RATES: dict[tuple[int, Exchange, ChargeSegment, str | None], tuple[object, _SideRates]] = {}


def _side_rates(
    rates: StatutoryRates, market: Exchange, segment: ChargeSegment, bse_class: str | None
) -> _SideRates:
    key = (id(rates), market, segment, bse_class)
    hit = _SIDE_RATES.get(key)
    if hit is not None and hit[0] is rates:
        return hit[1]
    stt = rates.stt[segment]
    ratios = [
        r.as_integer_ratio()
        for r in (
            stt.buy,
            stt.sell,
            _exchange_rate(rates, market, segment, bse_class),  # raises for a bad class
            rates.sebi,
            rates.stamp_buy[segment],
            rates.gst,
        )
    ]
    out = (tuple(n for n, _ in ratios), tuple(d for _, d in ratios))
    if any(n < 0 for n in out[0]):
        raise InvalidInputError(f"charges: a negative rate in the table of {rates.effective_from}")
    _SIDE_RATES[key] = (rates, out)
    return out


def _check(
    segment: ChargeSegment, buy_value: int, sell_value: int, buy_orders: int, sell_orders: int
) -> None:
    if not isinstance(segment, ChargeSegment):
        raise InvalidInputError(f"charges: unknown segment {segment!r}")
    if buy_value < 0 or sell_value < 0:
        raise InvalidInputError(
            f"charges: trade values must not be negative (buy {buy_value}, sell {sell_value} paise)"
        )
    if buy_orders < 0 or sell_orders < 0:
        raise InvalidInputError(
            f"charges: order counts must not be negative (buy {buy_orders}, sell {sell_orders})"
        )


def _market(exchange: Exchange, segment: ChargeSegment) -> Exchange:
    """NSE or BSE: F&O exchange codes (NFO, BFO) name the same exchange's derivatives."""
    if exchange in (Exchange.NFO, Exchange.BFO):
        if segment in _CASH:
            raise InvalidInputError(f"charges: {exchange.value} trades derivatives, not {segment}")
        return Exchange.NSE if exchange is Exchange.NFO else Exchange.BSE
    return exchange


def _exchange_rate(
    rates: StatutoryRates, market: Exchange, segment: ChargeSegment, bse_class: str | None
) -> Decimal:
    if market is Exchange.NSE:
        if bse_class is not None:
            raise InvalidInputError(f"charges: BSE class {bse_class!r} given for an NSE trade")
        return rates.nse_exchange[segment]
    if segment is ChargeSegment.FUTURES:
        if bse_class is not None:
            raise InvalidInputError("charges: BSE futures have no class")
        return rates.bse_futures
    if segment is ChargeSegment.OPTIONS:
        table, key = rates.bse_option_classes, bse_class or BSE_DEFAULT_OPTION_CLASS
        what = "option class"
    else:
        table, key = rates.bse_cash_groups, bse_class or BSE_DEFAULT_CASH_GROUP
        what = "scrip group"
    rate = table.get(key.upper())
    if rate is None:
        known = ", ".join(sorted(table))
        raise InvalidInputError(f"charges: unknown BSE {what} {key!r} (known: {known})")
    return rate
