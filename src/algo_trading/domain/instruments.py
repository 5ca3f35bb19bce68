"""Instruments: what can be traded, with the exchange facts an order must respect."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.ids import InstrumentToken

__all__ = ["Exchange", "Instrument", "InstrumentType", "OptionRight", "Segment", "equity"]


class Exchange(StrEnum):
    """Exchange codes as Angel One names them (NFO = NSE F&O, BFO = BSE F&O)."""

    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"
    BFO = "BFO"


class Segment(StrEnum):
    CASH = "CASH"
    FNO = "FNO"


class InstrumentType(StrEnum):
    EQUITY = "EQUITY"
    INDEX = "INDEX"
    FUTURE = "FUTURE"
    OPTION = "OPTION"


class OptionRight(StrEnum):
    CALL = "CE"
    PUT = "PE"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable (or, for indices, watchable) instrument.

    `tick_size_paise` and `lot_size` are the values of the day the instrument was loaded; they
    change by circular, so a backtest should take them from the master of its own period.
    """

    symbol: str
    exchange: Exchange
    token: InstrumentToken
    instrument_type: InstrumentType = InstrumentType.EQUITY
    tick_size_paise: int = 5
    lot_size: int = 1
    name: str = ""
    expiry: dt.date | None = None
    strike_paise: int | None = None
    option_right: OptionRight | None = None
    # Largest quantity one order may carry (F&O freeze quantity); None: no limit known.
    freeze_quantity: int | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise InvalidInputError("instrument: empty trading symbol")
        if self.tick_size_paise < 0 or (
            self.tick_size_paise == 0 and self.instrument_type is not InstrumentType.INDEX
        ):
            raise InvalidInputError(
                f"instrument {self.symbol}: tick size {self.tick_size_paise} paise is not positive"
            )
        if self.lot_size <= 0:
            raise InvalidInputError(f"instrument {self.symbol}: lot size {self.lot_size} <= 0")

    @property
    def segment(self) -> Segment:
        return Segment.FNO if self.exchange in (Exchange.NFO, Exchange.BFO) else Segment.CASH

    def is_on_tick(self, price_paise: int) -> bool:
        return self.tick_size_paise == 0 or price_paise % self.tick_size_paise == 0


def equity(
    symbol: str,
    token: str = "0",  # noqa: S107 - a placeholder broker token, not a secret
    exchange: Exchange = Exchange.NSE,
    tick_size_paise: int = 5,
) -> Instrument:
    """A cash-market stock with lot size 1 (convenience for backtests on files of bars)."""
    return Instrument(
        symbol=symbol,
        exchange=exchange,
        token=InstrumentToken(token),
        tick_size_paise=tick_size_paise,
    )
