"""What an order must have behind it: the share of its value a broker blocks, by product
(indian-market.md §6.1 product table, §6.6 margin rules).

* DELIVERY (CNC) buys are paid in full: 100 %.
* INTRADAY (MIS) cash-market positions are leveraged up to the peak-margin floor: VaR + ELM
  with a 20 % floor, so at most 5x (Upstox's tiers: 5x, 3x, 2x, 1x by the stock's margin).
  Angel One's default here is the 20 % floor; a stock with a higher VaR needs more, which the
  table cannot know, so it is configuration.
* F&O: a long option pays its full premium (from 2025-02-10); futures and short options pay
  SPAN + exposure, which the exchange sets per contract and day. The spec gives no figure: the
  default here (15 % of the contract's value; for a short option, of the strike's value) is a
  placeholder of the usual size for index contracts, **unconfirmed**, to be set per run.

Percentages are whole per cents of the order's value (leverage = 100 / per cent).
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import Instrument, InstrumentType
from algo_trading.domain.orders import ProductType

__all__ = ["ANGEL_ONE_MARGINS", "MarginRates", "margin_basis_paise", "margin_pct"]


@dataclass(frozen=True, slots=True)
class MarginRates:
    """Per cent of an order's value a broker blocks, per kind of exposure."""

    delivery_pct: int = 100  # CNC: full payment (§6.1)
    intraday_pct: int = 20  # MIS equity: the 20 % peak-margin floor, 5x (§6.6)
    futures_pct: int = 15  # SPAN + exposure: unconfirmed placeholder (§6.6)
    option_buy_pct: int = 100  # long options: full premium (§6.6)
    option_sell_pct: int = 15  # short options: SPAN + exposure on the strike: unconfirmed

    def __post_init__(self) -> None:
        for name in (
            "delivery_pct",
            "intraday_pct",
            "futures_pct",
            "option_buy_pct",
            "option_sell_pct",
        ):
            pct = getattr(self, name)
            if not 0 < pct <= 100:
                raise ConfigError(f"margin {name} {pct} is not in 1..100 (per cent of value)")

    @classmethod
    def from_leverage(
        cls, *, intraday: int = 5, futures_pct: int = 15, option_sell_pct: int = 15
    ) -> MarginRates:
        """Rates from an intraday leverage as brokers quote it (5 for 5x)."""
        if intraday <= 0 or 100 % intraday:
            raise ConfigError(f"intraday leverage {intraday} must divide 100 (1, 2, 4, 5, ...)")
        return cls(
            intraday_pct=100 // intraday, futures_pct=futures_pct, option_sell_pct=option_sell_pct
        )


ANGEL_ONE_MARGINS = MarginRates()
"""Angel One's defaults as far as indian-market.md §6.6 states them (F&O: placeholders)."""


def margin_pct(
    rates: MarginRates, instrument: Instrument, product: ProductType, is_buy: bool
) -> int:
    """The per cent of value blocked for exposure opened by such an order."""
    kind = instrument.instrument_type
    if kind is InstrumentType.OPTION:
        return rates.option_buy_pct if is_buy else rates.option_sell_pct
    if kind is InstrumentType.FUTURE:
        return rates.futures_pct
    if product is ProductType.INTRADAY:
        return rates.intraday_pct
    return rates.delivery_pct


def margin_basis_paise(instrument: Instrument, is_buy: bool, price_paise: int) -> int:
    """The per-unit value the per cent applies to: the price, except for a short option,
    whose margin follows the underlying's value (the strike stands for it here)."""
    if (
        not is_buy
        and instrument.instrument_type is InstrumentType.OPTION
        and instrument.strike_paise is not None
    ):
        return instrument.strike_paise
    return price_paise
