"""Dated reference prices that seed the simulated NSE cash market (issue #9, item 10).

A random base price put SBIN at ₹2,364; a trader testing a strategy wants prices of the right
size. `data/reference-prices.csv` holds one real closing price per NIFTY 50 stock for one date,
with the source of each (columns symbol, reference_date, price, source; rupees as text). The
simulator opens every listed stock at its reference price, snapped to the instrument's tick,
and lets its seeded walk move from there. A stock missing from the table keeps a random base
inside the price slab of its tick (market.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from importlib import resources

from algo_trading.domain.errors import ConfigError, InvalidInputError
from algo_trading.domain.money import rupees_to_paise

__all__ = ["REFERENCE_FILE", "ReferencePrice", "load_reference_prices", "parse_reference_prices"]

REFERENCE_FILE = "data/reference-prices.csv"
_COLUMNS = ["symbol", "reference_date", "price", "source"]


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    """One stock's closing price (paise) on `date`, and where that price was found."""

    symbol: str
    date: dt.date
    price_paise: int
    source: str


def _row(line: int, row: dict[str, str], where: str) -> ReferencePrice:
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{where} row {line}: {why}")

    symbol, source = row["symbol"].strip(), row["source"].strip()
    if not symbol or not source:
        raise bad("symbol and source must not be empty")
    try:
        date = dt.date.fromisoformat(row["reference_date"].strip())
        price = rupees_to_paise(row["price"].strip(), what="price")
    except (ValueError, ArithmeticError, InvalidInputError) as exc:  # decimal.Overflow too
        raise bad(str(exc) or type(exc).__name__) from None
    if price <= 0:
        raise bad(f"price {row['price']} is not positive")
    return ReferencePrice(symbol, date, price, source)


def parse_reference_prices(text: str, where: str) -> dict[str, ReferencePrice]:
    """The table by trading symbol; a malformed row is a ConfigError naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != _COLUMNS:
        raise ConfigError(f"{where}: columns must be {', '.join(_COLUMNS)}")
    prices: dict[str, ReferencePrice] = {}
    for line, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ConfigError(f"{where} row {line}: expected {len(_COLUMNS)} cells")
        price = _row(line, row, where)
        if price.symbol in prices:
            raise ConfigError(f"{where} row {line}: {price.symbol} is listed twice")
        prices[price.symbol] = price
    return prices


def load_reference_prices() -> dict[str, ReferencePrice]:
    """The table shipped in the simulator's package data."""
    text = resources.files("algo_trading.simulator").joinpath(REFERENCE_FILE).read_text("utf-8")
    return parse_reference_prices(text, REFERENCE_FILE)
