"""Charge rates as data: statutory and exchange rates by effective date, broker schedules.

Rates change by circular and by Finance Act, so every statutory row carries the date it took
effect and a backtest picks the row of its trade date (indian-market.md §1.1, §7). Rates are
fractions of turnover written as the spec's percentages (`_pct("0.00307")` is 0.00307 %).
Broker schedules (§1.2) are separate values, so a schedule is chosen per run, not per date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from algo_trading.domain.errors import InvalidInputError

__all__ = [
    "ANGEL_ONE",
    "BROKERS",
    "BSE_DEFAULT_CASH_GROUP",
    "BSE_DEFAULT_OPTION_CLASS",
    "STATUTORY_RATES",
    "ZERODHA",
    "ZERO_BROKERAGE",
    "BrokerSchedule",
    "ChargeSegment",
    "OrderFee",
    "StatutoryRates",
    "SttRate",
    "rates_on",
]


class ChargeSegment(StrEnum):
    """The four ways a trade is charged (the columns of indian-market.md §1.1)."""

    EQUITY_DELIVERY = "equity-delivery"
    EQUITY_INTRADAY = "equity-intraday"
    FUTURES = "futures"
    OPTIONS = "options"


_D, _I, _F, _O = (
    ChargeSegment.EQUITY_DELIVERY,
    ChargeSegment.EQUITY_INTRADAY,
    ChargeSegment.FUTURES,
    ChargeSegment.OPTIONS,
)


def _pct(percent: str) -> Decimal:
    return Decimal(percent).scaleb(-2)  # exact: a shift of the exponent, no division


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class SttRate:
    """Securities transaction tax as fractions of each side's value (options: premium)."""

    buy: Decimal
    sell: Decimal


@dataclass(frozen=True, slots=True)
class StatutoryRates:
    """Every rate that is the same for all brokers, as in force from `effective_from`."""

    effective_from: dt.date
    source: str
    stt: Mapping[ChargeSegment, SttRate]
    nse_exchange: Mapping[ChargeSegment, Decimal]  # total outflow, IPFT included
    bse_cash_groups: Mapping[str, Decimal]  # by BSE scrip group
    bse_futures: Decimal
    bse_option_classes: Mapping[str, Decimal]  # by option class, on premium
    stamp_buy: Mapping[ChargeSegment, Decimal]
    sebi: Decimal
    gst: Decimal


# Stamp duty is uniform and buy side only since 2020-07-01 (§7); no row starts earlier, so a
# trade before that date is refused rather than charged at rates we do not have.
_STAMP = MappingProxyType(
    {_D: _pct("0.015"), _I: _pct("0.003"), _F: _pct("0.002"), _O: _pct("0.003")}
)
_SEBI = Decimal(10) / Decimal(10**7)  # ₹10 per crore of turnover, both sides (§1.1)
_GST = Decimal("0.18")


def _stt(futures: str, options: str) -> Mapping[ChargeSegment, SttRate]:
    zero = Decimal(0)
    return MappingProxyType(
        {
            _D: SttRate(_pct("0.1"), _pct("0.1")),
            _I: SttRate(zero, _pct("0.025")),
            _F: SttRate(zero, _pct(futures)),
            _O: SttRate(zero, _pct(options)),
        }
    )


def _nse(cash: str, futures: str, options: str) -> Mapping[ChargeSegment, Decimal]:
    return MappingProxyType({_D: _pct(cash), _I: _pct(cash), _F: _pct(futures), _O: _pct(options)})


def _groups(rates: Mapping[str, str]) -> Mapping[str, Decimal]:
    return _frozen({g: _pct(r) for names, r in rates.items() for g in names.split()})


# BSE cash by scrip group and BSE options by class, flat since 2024-10-01 (§1.1). The spec has
# no older BSE figures, so the earlier rows reuse these: unconfirmed for trades before then.
_BSE_CASH = _groups(
    {
        "A B": "0.00375",
        "E F FC G GC I W T M MT MS TS IF IT": "0.00275",
        "XC XD XT Z ZP": "0.1",
        "P R SS ST": "1",
    }
)
_BSE_OPTIONS = _groups({"SENSEX BANKEX": "0.0325", "SENSEX50 STOCK": "0.005"})
BSE_DEFAULT_CASH_GROUP = "A"
BSE_DEFAULT_OPTION_CLASS = "SENSEX"  # BSE's option volume is almost all SENSEX


def _row(
    effective_from: dt.date,
    source: str,
    stt: Mapping[ChargeSegment, SttRate],
    nse: Mapping[ChargeSegment, Decimal],
) -> StatutoryRates:
    return StatutoryRates(
        effective_from=effective_from,
        source=source,
        stt=stt,
        nse_exchange=nse,
        bse_cash_groups=_BSE_CASH,
        bse_futures=Decimal(0),  # BSE charged nothing on futures (§1.1)
        bse_option_classes=_BSE_OPTIONS,
        stamp_buy=_STAMP,
        sebi=_SEBI,
        gst=_GST,
    )


_STT_BEFORE_2024_10 = _stt("0.0125", "0.0625")
_NSE_SLAB_2024 = _nse("0.00322", "0.00188", "0.0495")

STATUTORY_RATES: tuple[StatutoryRates, ...] = (
    # NSE billed by turnover slab before 2024-10-01; these are the rates Zerodha billed. The
    # 0.00345 % cash rate is the 2021–2023 calculator copies' and reproduces the §1.3 vector;
    # the F&O rates are the 2024 page's, the only older F&O figures the spec has.
    _row(
        dt.date(2020, 7, 1),
        "§1.1 history: NSE cash 0.00345 % (calculator copies 2021–2023)",
        _STT_BEFORE_2024_10,
        _nse("0.00345", "0.00188", "0.0495"),
    ),
    # The 2024 copy of Zerodha's page shows 0.00322 %. When it replaced 0.00345 % is
    # unconfirmed; the start of 2024 is our assumption, not a circular's date.
    _row(
        dt.date(2024, 1, 1),
        "§1.1 history: NSE cash 0.00322 % (Zerodha page, 2024); start date assumed",
        _STT_BEFORE_2024_10,
        _NSE_SLAB_2024,
    ),
    # Flat NSE charges; the IPFT was a separate line until 2026-02-28 and then folded into the
    # transaction charge with the same total (CIRC NSE 2026-02-27), so one row covers both.
    # GST applies to the IPFT too (Zerodha and Angel One bill it so; §1.1 notes).
    _row(
        dt.date(2024, 10, 1),
        "Finance (No. 2) Act 2024; flat NSE/BSE charges (§1.1, §7)",
        _stt("0.02", "0.1"),
        _nse("0.00307", "0.00183", "0.03553"),
    ),
    _row(
        dt.date(2026, 4, 1),
        "Finance Act 2026 (§1.1, §7)",
        _stt("0.05", "0.15"),
        _nse("0.00307", "0.00183", "0.03553"),
    ),
)


def rates_on(day: dt.date | None) -> StatutoryRates:
    """The row in force on `day`; None means the newest row (the market package reads no
    clock, so "today" is the caller's to pass)."""
    if day is None:
        return STATUTORY_RATES[-1]
    row = _ROW_ON.get(day)  # a backtest asks for the same few days thousands of times
    if row is not None:
        return row
    in_force = [r for r in STATUTORY_RATES if r.effective_from <= day]
    if not in_force:
        first = STATUTORY_RATES[0].effective_from
        raise InvalidInputError(
            f"charges: no rates for {day.isoformat()}; the tables start on {first.isoformat()}"
        )
    row = _ROW_ON[day] = in_force[-1]
    return row


_ROW_ON: dict[dt.date, StatutoryRates] = {}  # day -> rates_on(day); the table is a constant


@dataclass(frozen=True, slots=True)
class OrderFee:
    """Brokerage for one executed order: `flat_paise` plus `rate` of its value, then at most
    `cap_paise` and at least `floor_paise` (§1.2: "lower of ₹20 or 0.03 %", "minimum ₹2")."""

    flat_paise: int = 0
    rate: Decimal = Decimal(0)
    cap_paise: int | None = None
    floor_paise: int = 0

    def for_orders(self, value_paise: int, orders: int) -> Decimal:
        """Brokerage in (fractional) paise for `orders` executed orders of `value_paise` in all.

        Orders of equal value are assumed; then the per-order cap and floor scale with the
        count, because n × min(cap, rate × V / n) = min(n × cap, rate × V).
        """
        if orders <= 0 or value_paise <= 0:
            return Decimal(0)
        fee = self.flat_paise * orders + self.rate * value_paise
        if self.cap_paise is not None:
            fee = min(fee, Decimal(self.cap_paise * orders))
        return max(fee, Decimal(self.floor_paise * orders))


@dataclass(frozen=True, slots=True)
class BrokerSchedule:
    """A broker's charges (§1.2): a fee per executed order by segment, and the DP charge per
    scrip per delivery-sell day before GST. Build your own to model another broker.

    Broker schedules carry no dates: the table of §1.2 is the current one, and it is applied to
    every trade date (Angel One's is published as applicable from 2024-11-01).
    """

    name: str
    fees: Mapping[ChargeSegment, OrderFee]
    dp_charge_paise: int

    def brokerage(self, segment: ChargeSegment, value_paise: int, orders: int) -> Decimal:
        return self.fees[segment].for_orders(value_paise, orders)


_TWENTY = 2000
_RATE_003 = _pct("0.03")

ANGEL_ONE = BrokerSchedule(
    name="angelone",
    fees=MappingProxyType(
        {
            _D: OrderFee(rate=_pct("0.1"), cap_paise=_TWENTY, floor_paise=200),
            _I: OrderFee(rate=_RATE_003, cap_paise=_TWENTY),
            _F: OrderFee(flat_paise=_TWENTY),
            _O: OrderFee(flat_paise=_TWENTY),
        }
    ),
    dp_charge_paise=2000,  # ₹20 + GST = ₹23.60 (Angel One pricing notice, Oct 2024)
)

ZERODHA = BrokerSchedule(
    name="zerodha",
    fees=MappingProxyType(
        {
            _D: OrderFee(),
            _I: OrderFee(rate=_RATE_003, cap_paise=_TWENTY),
            _F: OrderFee(rate=_RATE_003, cap_paise=_TWENTY),
            _O: OrderFee(flat_paise=_TWENTY),
        }
    ),
    # ₹13 + GST = ₹15.34: Zerodha's current support page; ₹13.50 on older copies, and when it
    # changed is unconfirmed (§1.2).
    dp_charge_paise=1300,
)

# No broker charges at all (no DP charge either): the statutory lines alone.
ZERO_BROKERAGE = BrokerSchedule(
    name="zero",
    fees=MappingProxyType({s: OrderFee() for s in ChargeSegment}),
    dp_charge_paise=0,
)

BROKERS: Mapping[str, BrokerSchedule] = MappingProxyType(
    {b.name: b for b in (ANGEL_ONE, ZERODHA, ZERO_BROKERAGE)}
)
