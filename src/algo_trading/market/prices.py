"""Tick sizes and price bands: which prices an order may carry (indian-market.md §4.1-§4.3).

Every price is integer paise. The tick of an instrument comes from the day's instrument master
(Angel's `tick_size` is in paise, angel-one-smartapi.md §4); `expected_tick_paise` only explains and
cross-checks it, it must not replace it (indian-market.md §4 preamble).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from algo_trading.domain.errors import ConfigError, OrderError
from algo_trading.domain.instruments import Instrument, InstrumentType
from algo_trading.domain.money import paise_to_decimal
from algo_trading.domain.orders import OrderSide

__all__ = [
    "PRICE_SLAB_TICKS_FROM",
    "PriceBand",
    "PriceBandError",
    "TickDirection",
    "TickError",
    "TickKind",
    "TickRules",
    "band_around",
    "check_on_tick",
    "expected_tick_paise",
    "protective_direction",
    "round_to_tick",
    "validate_order_price",
]


class TickError(OrderError):
    """A price that is not a positive multiple of the instrument's tick."""


class PriceBandError(OrderError):
    """A price outside the day's price band (circuit limits); the exchange would reject it."""


class TickDirection(StrEnum):
    NEAREST = "NEAREST"  # ties go up: half a tick is rounded away from zero
    DOWN = "DOWN"  # never above the input: a buy's protective limit must not pay more
    UP = "UP"  # never below the input: a sell's protective limit must not receive less


def protective_direction(side: OrderSide) -> TickDirection:
    """The rounding that keeps a protective limit inside its protection: buys down, sells up."""
    return TickDirection.DOWN if side is OrderSide.BUY else TickDirection.UP


def _require_positive_tick(tick_paise: int, where: str) -> None:
    if tick_paise <= 0:
        raise TickError(f"{where}: tick size {tick_paise} paise is not positive")


def round_to_tick(
    price_paise: int,
    tick_paise: int,
    direction: TickDirection = TickDirection.NEAREST,
    *,
    where: str = "price",
) -> int:
    """The legal price (a positive multiple of the tick) nearest `price_paise` in `direction`.

    A positive price never rounds to zero under NEAREST or UP (the smallest legal price is one
    tick); rounding DOWN below one tick has no legal answer and raises TickError.
    """
    _require_positive_tick(tick_paise, where)
    if price_paise <= 0:
        raise TickError(f"{where}: price {price_paise} paise is not positive")
    below = price_paise - price_paise % tick_paise
    if below == price_paise:
        return price_paise
    if direction is TickDirection.DOWN:
        if below == 0:
            raise TickError(
                f"{where}: price {paise_to_decimal(price_paise)} rounds down to zero on tick "
                f"{paise_to_decimal(tick_paise)}"
            )
        return below
    above = below + tick_paise
    if direction is TickDirection.UP:
        return above
    nearest = above if 2 * (price_paise - below) >= tick_paise else below
    return max(nearest, tick_paise)


def check_on_tick(price_paise: int, tick_paise: int, *, where: str = "price") -> None:
    """Raise TickError unless the price is a positive multiple of the tick."""
    _require_positive_tick(tick_paise, where)
    if price_paise <= 0:
        raise TickError(f"{where}: price {price_paise} paise is not positive")
    if price_paise % tick_paise:
        raise TickError(
            f"{where}: price {paise_to_decimal(price_paise)} is not on the "
            f"{paise_to_decimal(tick_paise)} tick"
        )


def validate_order_price(instrument: Instrument, price_paise: int, *, what: str = "price") -> None:
    """Raise unless an order on `instrument` may carry this price: positive and on its tick.

    Cash and F&O follow the same rule; only the tick differs, and it comes from the master. An
    index is not tradable, so it has no legal order price at all.
    """
    where = f"{instrument.symbol} {what}"
    if instrument.instrument_type is InstrumentType.INDEX:
        raise OrderError(f"{where}: {instrument.symbol} is an index and cannot be ordered")
    check_on_tick(price_paise, instrument.tick_size_paise, where=where)


# --- The exchange's tick tables, to cross-check the master (indian-market.md §4.1) ---------------


class TickKind(StrEnum):
    """What the tick table is asked about; NSE rules (BSE cash beyond 2023 is unconfirmed)."""

    CASH = "CASH"
    STOCK_FUTURE = "STOCK_FUTURE"
    STOCK_OPTION = "STOCK_OPTION"
    INDEX_FUTURE = "INDEX_FUTURE"
    INDEX_OPTION = "INDEX_OPTION"


PRICE_SLAB_TICKS_FROM = dt.date(2025, 4, 15)
"""First day of NSE's announced price-slab ticks; whether they are in force is unconfirmed (§9)."""


@dataclass(frozen=True, slots=True)
class TickRules:
    """Switches for rules the spec cannot confirm.

    `price_slabs`: apply NSE's April-2025 price-slab ticks (cash and stock futures above ₹1,000,
    index futures by index level). Announced, never seen withdrawn, never verified in force
    (indian-market.md §4.1 and §9), so off by default: the tables then give the 2024 rules.
    """

    price_slabs: bool = False


_DEFAULT_RULES = TickRules()
_TICK_1P_BELOW_250_FROM = dt.date(2024, 6, 10)  # NSE cash, §4.1 and §7
_STOCK_FUTURES_FOLLOW_CASH_FROM = dt.date(2024, 7, 8)
_STOCK_OPTIONS_1P_BELOW_250_FROM = dt.date(2025, 11, 3)
_RS = 100  # paise per rupee, for readable slab edges

# (lower edge inclusive in paise, tick in paise): "< 250: 0.01; 250-1,000: 0.05; ..." (§4.1)
_CASH_SLABS = (
    (20_000 * _RS, 500),
    (10_000 * _RS, 100),
    (5_000 * _RS, 50),
    (1_000 * _RS, 10),
    (250 * _RS, 5),
    (0, 1),
)
# (upper edge inclusive in paise of index level, tick): "<= 15,000: 0.05; 15,000-30,000: 0.10;
# > 30,000: 0.20" (§4.1) - here the spec bounds each slab from above.
_INDEX_FUTURE_SLABS = ((15_000 * _RS, 5), (30_000 * _RS, 10))
_INDEX_FUTURE_TOP_TICK = 20


def _cash_tick(reference_paise: int, on: dt.date, rules: TickRules) -> int:
    if rules.price_slabs and on >= PRICE_SLAB_TICKS_FROM:
        return next(tick for edge, tick in _CASH_SLABS if reference_paise >= edge)
    if on >= _TICK_1P_BELOW_250_FROM and reference_paise < 250 * _RS:
        return 1
    return 5


def expected_tick_paise(
    kind: TickKind,
    reference_paise: int,
    on: dt.date,
    rules: TickRules = _DEFAULT_RULES,
) -> int:
    """The tick NSE's tables give for `kind` on day `on` (indian-market.md §4.1).

    `reference_paise` is the price the monthly review looks at: the stock's (or, for stock
    options, the underlying's) close on the last trading day of the previous month, or the index
    level for index futures. Use it to check a master row, never instead of one.
    """
    if reference_paise <= 0:
        raise ConfigError(f"tick table {kind.value}: reference price {reference_paise} <= 0")
    if kind is TickKind.INDEX_OPTION:
        return 5
    if kind is TickKind.INDEX_FUTURE:
        if not (rules.price_slabs and on >= PRICE_SLAB_TICKS_FROM):
            return 5
        return next(
            (tick for edge, tick in _INDEX_FUTURE_SLABS if reference_paise <= edge),
            _INDEX_FUTURE_TOP_TICK,
        )
    if kind is TickKind.STOCK_OPTION:
        below_250 = reference_paise < 250 * _RS
        return 1 if below_250 and on >= _STOCK_OPTIONS_1P_BELOW_250_FROM else 5
    if kind is TickKind.STOCK_FUTURE and on < _STOCK_FUTURES_FOLLOW_CASH_FROM:
        return 5
    return _cash_tick(reference_paise, on, rules)


# --- Price bands (indian-market.md §4.2, §4.3) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceBand:
    """The day's inclusive price limits for one instrument, both on its tick.

    A stock without derivatives has a fixed band (2/5/10/20 %); an F&O stock or a future has an
    operating range the exchange flexes during the day - pass whichever band is in force now.
    """

    lower_paise: int
    upper_paise: int

    def __post_init__(self) -> None:
        if not 0 < self.lower_paise <= self.upper_paise:
            raise ConfigError(
                f"price band {self.lower_paise}..{self.upper_paise} paise is empty or not positive"
            )

    def contains(self, price_paise: int) -> bool:
        return self.lower_paise <= price_paise <= self.upper_paise

    def check(self, price_paise: int, *, where: str = "price") -> None:
        """Raise PriceBandError if the exchange would reject this price for the band."""
        if not self.contains(price_paise):
            raise PriceBandError(
                f"{where}: price {paise_to_decimal(price_paise)} is outside the band "
                f"{paise_to_decimal(self.lower_paise)}-{paise_to_decimal(self.upper_paise)}"
            )


def band_around(base_paise: int, percent: int | Decimal, tick_paise: int) -> PriceBand:
    """The band `percent` either side of `base_paise` (the previous close), limits on the tick.

    Each limit is moved inwards to the tick, so both limits are prices an order may carry and
    nothing outside the exact band is admitted. The exchange publishes its own limits daily;
    prefer those when available (its rounding of the edges is not in the spec).
    """
    if isinstance(percent, (bool, float)):
        raise ConfigError(f"price band: give the percent as int or Decimal, not {percent!r}")
    if base_paise <= 0 or tick_paise <= 0:
        raise ConfigError(f"price band: base {base_paise} and tick {tick_paise} must be positive")
    if not 0 < percent < 100:
        raise ConfigError(f"price band: {percent} % is not between 0 and 100")
    width = Decimal(base_paise) * Decimal(percent) / 100
    low = (Decimal(base_paise) - width) / tick_paise
    high = (Decimal(base_paise) + width) / tick_paise
    lower = int(low.to_integral_value(rounding=ROUND_CEILING)) * tick_paise
    upper = int(high.to_integral_value(rounding=ROUND_FLOOR)) * tick_paise
    return PriceBand(max(lower, tick_paise), upper)
