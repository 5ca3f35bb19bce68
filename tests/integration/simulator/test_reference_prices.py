"""The simulated NSE cash market starts from real, dated closing prices (issue #9, item 10):
every NIFTY 50 stock has a sourced reference price on its tick, and the simulator's previous
close is that price; a malformed reference table is one ConfigError naming the row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import InstrumentType
from algo_trading.simulator import SimulatorConfig
from algo_trading.simulator.reference_prices import load_reference_prices, parse_reference_prices
from algo_trading.simulator.state import SimState
from tests.integration.simulator.conftest import MONDAY_10AM, FakeClock, make_config

HEADER = "symbol,reference_date,price,source\n"


def _shipped_stocks() -> dict[str, int]:
    """Symbol -> tick (paise) of every stock in the shipped NIFTY 50 list."""
    text = (
        resources.files("algo_trading.simulator")
        .joinpath("data/nifty50-angelone.csv")
        .read_text("utf-8")
    )
    return {
        row["symbol"]: int(float(row["tick_size_paise"]))
        for row in csv.DictReader(io.StringIO(text))
        if not row["instrument_type"]
    }


def test_every_nifty50_stock_has_a_dated_sourced_price_on_its_tick() -> None:
    prices = load_reference_prices()
    stocks = _shipped_stocks()
    assert set(prices) == set(stocks)
    for symbol, price in prices.items():
        assert price.price_paise % stocks[symbol] == 0, symbol
        assert price.date == dt.date(2026, 7, 24)
        assert "pair_data.csv@" in price.source


def test_the_simulator_opens_each_stock_at_its_reference_close() -> None:
    state = SimState.build(make_config(FakeClock(MONDAY_10AM)))
    prices = load_reference_prices()
    stocks = [
        q
        for q in state.market.quotes.values()
        if q.instrument.instrument_type is InstrumentType.EQUITY
    ]
    assert len(stocks) == len(prices)
    for quote in stocks:
        assert quote.close == quote.ltp == prices[quote.instrument.symbol].price_paise
    sbin = state.market.by_symbol("SBIN-EQ")
    assert sbin is not None
    assert sbin.close == 1015_00  # was a random ₹2,364 before the table


def test_the_default_config_builds_the_same_seeded_prices() -> None:
    one = SimState.build(SimulatorConfig(tick_interval_s=None)).market.by_symbol("INFY-EQ")
    two = SimState.build(SimulatorConfig(tick_interval_s=None)).market.by_symbol("INFY-EQ")
    assert one is not None
    assert two is not None
    assert one.close == two.close


@pytest.mark.parametrize(
    ("rows", "fact"),
    [
        ("SBIN-EQ,2026-07-24,1e999999,x\n", "row 2"),
        ("SBIN-EQ,2026-07-24,-5,x\n", "not positive"),
        ("SBIN-EQ,2026-07-24,1015.001,x\n", "finer than one paisa"),
        ("SBIN-EQ,24-07-2026,1015,x\n", "row 2"),
        ("SBIN-EQ,2026-07-24,1015,\n", "source must not be empty"),
        (
            "SBIN-EQ,2026-07-24,1015,x\nSBIN-EQ,2026-07-24,1016,y\n",
            "row 3: SBIN-EQ is listed twice",
        ),
        ("SBIN-EQ,2026-07-24,1015\n", "expected 4 cells"),
    ],
)
def test_a_malformed_reference_table_is_one_config_error_naming_the_row(
    rows: str, fact: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_reference_prices(HEADER + rows, "prices.csv")
    assert fact in str(refused.value)
    assert str(refused.value).startswith("prices.csv")
