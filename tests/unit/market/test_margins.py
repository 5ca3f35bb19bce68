"""Margin per cent by product and instrument (indian-market.md §6.1, §6.6)."""

from __future__ import annotations

import datetime as dt

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import (
    Exchange,
    Instrument,
    InstrumentType,
    OptionRight,
    equity,
)
from algo_trading.domain.orders import ProductType
from algo_trading.market.margins import (
    ANGEL_ONE_MARGINS,
    MarginRates,
    margin_basis_paise,
    margin_pct,
)

STOCK = equity("SBIN-EQ")
FUTURE = Instrument(
    "NIFTY24JANFUT",
    Exchange.NFO,
    InstrumentToken("1"),
    InstrumentType.FUTURE,
    lot_size=25,
    expiry=dt.date(2024, 1, 25),
)
CALL = Instrument(
    "NIFTY24JAN21000CE",
    Exchange.NFO,
    InstrumentToken("2"),
    InstrumentType.OPTION,
    lot_size=25,
    expiry=dt.date(2024, 1, 25),
    strike_paise=2_100_000,
    option_right=OptionRight.CALL,
)


def test_angel_ones_defaults_are_full_payment_for_delivery_and_five_times_for_intraday() -> None:
    rates = ANGEL_ONE_MARGINS

    assert margin_pct(rates, STOCK, ProductType.DELIVERY, True) == 100
    assert margin_pct(rates, STOCK, ProductType.INTRADAY, True) == 20
    assert margin_pct(rates, STOCK, ProductType.INTRADAY, False) == 20
    assert margin_pct(rates, CALL, ProductType.CARRYFORWARD, True) == 100  # full premium
    assert margin_pct(rates, CALL, ProductType.CARRYFORWARD, False) == rates.option_sell_pct
    assert margin_pct(rates, FUTURE, ProductType.INTRADAY, True) == rates.futures_pct


def test_a_short_options_margin_is_on_the_strike_everything_else_on_the_price() -> None:
    assert margin_basis_paise(CALL, False, 5_000) == 2_100_000
    assert margin_basis_paise(CALL, True, 5_000) == 5_000
    assert margin_basis_paise(FUTURE, False, 2_100_000) == 2_100_000


def test_leverage_as_brokers_quote_it_becomes_the_per_cent() -> None:
    assert MarginRates.from_leverage(intraday=4).intraday_pct == 25
    assert MarginRates.from_leverage(intraday=1).intraday_pct == 100


@pytest.mark.parametrize(
    "make",
    [
        lambda: MarginRates(intraday_pct=0),
        lambda: MarginRates(futures_pct=101),
        lambda: MarginRates.from_leverage(intraday=3),
        lambda: MarginRates.from_leverage(intraday=0),
    ],
)
def test_a_per_cent_outside_1_to_100_or_a_leverage_not_dividing_100_is_a_config_error(
    make: object,
) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]
