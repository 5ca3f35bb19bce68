"""The simulated NSE/BSE market: one seeded random walk per instrument on its tick grid.

Indices walk; futures follow their index with a small premium; options are intrinsic value plus a
time value that shrinks away from the money; stocks walk on their own, from a dated real close
where the reference table has one (reference_prices.py). Every price is integer
paise on the instrument's tick and inside its band; nothing here reads a clock (the caller passes
the time). Quote fields follow spec §2.10 and the SNAP_QUOTE packet of §5.1.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.prices import PriceBand, band_around
from algo_trading.simulator.scripmaster import INDEX_LEVELS_PAISE

__all__ = ["EXCHANGE_TYPES", "InstrumentKey", "Market", "Quote"]

InstrumentKey = tuple[Exchange, str]  # (exchange, token)

EXCHANGE_TYPES = {Exchange.NSE: 1, Exchange.NFO: 2, Exchange.BSE: 3, Exchange.BFO: 4}
_INDEX_TICK = 5  # index rows carry tick 0 in the master; their levels still move in paise
# Stock base prices sit inside the NSE price slab that matches the listed tick (prices.py).
_SLABS = {
    1: (100_00, 240_00),
    5: (260_00, 990_00),
    10: (1_010_00, 4_900_00),
    50: (5_100_00, 9_800_00),
}
_SLAB_DEFAULT = (10_200_00, 19_000_00)
_STEP_BP = 2  # one tick of the walk moves about 2 basis points


@dataclass(slots=True)
class Quote:
    """The live state of one instrument (integer paise, units)."""

    instrument: Instrument
    exchange_type: int
    tick_paise: int
    ltp: int
    open: int
    high: int
    low: int
    close: int  # previous day's close
    band: PriceBand | None
    volume: int = 0
    value_paise: int = 0  # sum of price × quantity traded today, for the average price
    last_qty: int = 0
    last_trade_ns: int = 0
    sequence: int = 0
    open_interest: int = 0
    week52_high: int = 0
    week52_low: int = 0
    depth_qty: list[int] = field(default_factory=list)

    @property
    def key(self) -> InstrumentKey:
        return (self.instrument.exchange, str(self.instrument.token))

    @property
    def avg_price(self) -> int:
        return self.value_paise // self.volume if self.volume else self.ltp

    def trade(self, price: int, qty: int, ts_ns: int) -> None:
        """Record a trade at `price`: LTP, OHLC and volume move together."""
        if self.volume == 0 and self.sequence == 0:
            self.open = self.high = self.low = price
        self.ltp = price
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.volume += qty
        self.value_paise += price * qty
        self.last_qty = qty
        self.last_trade_ns = ts_ns
        self.sequence += 1
        self.week52_high = max(self.week52_high, price)
        self.week52_low = min(self.week52_low, price)

    def best_bids(self, levels: int = 5) -> list[tuple[int, int, int]]:
        """(price, quantity, orders) best first, one tick apart below the LTP."""
        return [
            (self.ltp - (i + 1) * self.tick_paise, self._depth(i), 1 + self._depth(i) % 7)
            for i in range(levels)
            if self.ltp - (i + 1) * self.tick_paise > 0
        ]

    def best_asks(self, levels: int = 5) -> list[tuple[int, int, int]]:
        return [
            (self.ltp + (i + 1) * self.tick_paise, self._depth(-1 - i), 1 + self._depth(-1 - i) % 5)
            for i in range(levels)
        ]

    def _depth(self, level: int) -> int:
        return self.depth_qty[level % len(self.depth_qty)]


def _round(price: float, tick: int) -> int:
    return max(tick, round(price / tick) * tick)


def _snap(paise: int, tick: int) -> int:
    """The nearest price on the tick grid (half a tick up), never below one tick; integers only."""
    return max(tick, (paise + tick // 2) // tick * tick)


class Market:
    """Every instrument's quote, moved one tick at a time by `step`.

    `reference_paise` maps a trading symbol to the real close its walk starts from."""

    def __init__(
        self, master: InstrumentMaster, seed: int, reference_paise: Mapping[str, int] | None = None
    ) -> None:
        self._rng = random.Random(seed)
        self._seed = seed
        self._reference = dict(reference_paise or {})
        self.quotes: dict[InstrumentKey, Quote] = {}
        self._by_symbol: dict[str, InstrumentKey] = {}
        self._index_of: dict[str, InstrumentKey] = {}
        for instrument in master:
            self._add(instrument)

    def _add(self, inst: Instrument) -> None:
        tick = inst.tick_size_paise or _INDEX_TICK
        rng = random.Random(f"{self._seed}:{inst.token}")
        reference = self._reference.get(inst.symbol)
        if reference is not None and inst.instrument_type is InstrumentType.EQUITY:
            close = _snap(reference, tick)  # the dated real close, exactly, on this tick grid
        else:
            base = self._base_price(inst, tick)
            close = _round(base * (1 + rng.uniform(-0.01, 0.01)), tick)
        band = _band(inst, close, tick)
        quote = Quote(
            instrument=inst,
            exchange_type=EXCHANGE_TYPES[inst.exchange],
            tick_paise=tick,
            ltp=close,
            open=close,
            high=close,
            low=close,
            close=close,
            band=band,
            open_interest=rng.randint(1, 400) * inst.lot_size * 100 if inst.expiry else 0,
            week52_high=_round(close * 1.25, tick),
            week52_low=_round(close * 0.75, tick),
            depth_qty=[rng.randint(1, 40) * inst.lot_size * 10 for _ in range(10)],
        )
        self.quotes[quote.key] = quote
        self._by_symbol[inst.symbol] = quote.key
        if inst.instrument_type is InstrumentType.INDEX:
            self._index_of[inst.name] = quote.key

    def _base_price(self, inst: Instrument, tick: int) -> float:
        rng = random.Random(f"{self._seed}:base:{inst.token}")
        if inst.instrument_type is InstrumentType.INDEX:
            return INDEX_LEVELS_PAISE.get(inst.name, 10_000_00)
        underlying = INDEX_LEVELS_PAISE.get(inst.name, 10_000_00)
        if inst.instrument_type is InstrumentType.FUTURE:
            return underlying * 1.004
        if inst.instrument_type is InstrumentType.OPTION:
            return _option_value(inst, underlying)
        low, high = _SLABS.get(tick, _SLAB_DEFAULT)
        return rng.uniform(low, high)

    def get(self, exchange: Exchange, token: str) -> Quote | None:
        return self.quotes.get((exchange, token))

    def by_symbol(self, symbol: str) -> Quote | None:
        key = self._by_symbol.get(symbol)
        return None if key is None else self.quotes[key]

    def step(self, ts_ns: int, open_now: dict[Exchange, bool]) -> list[Quote]:
        """Move every instrument of an open exchange by one tick of its walk; returns the quotes
        that traded, indices first so that derivatives follow the new level."""
        moved: list[Quote] = []
        for quote in self.quotes.values():
            if not open_now.get(quote.instrument.exchange, False):
                continue
            kind = quote.instrument.instrument_type
            if kind is InstrumentType.INDEX or kind is InstrumentType.EQUITY:
                sigma = max(1.0, quote.ltp * _STEP_BP / 10_000 / quote.tick_paise)
                price = quote.ltp + round(self._rng.gauss(0, sigma)) * quote.tick_paise
                self._trade(quote, price, ts_ns)
                moved.append(quote)
        for quote in self.quotes.values():
            inst = quote.instrument
            if inst.expiry is None or not open_now.get(inst.exchange, False):
                continue
            index = self.quotes.get(self._index_of.get(inst.name, (Exchange.NSE, "")))
            level = index.ltp if index is not None else quote.ltp
            if inst.instrument_type is InstrumentType.FUTURE:
                target = level * 1.004
            else:
                target = _option_value(inst, level)
            self._trade(quote, _round(target, quote.tick_paise), ts_ns)
            moved.append(quote)
        return moved

    def _trade(self, quote: Quote, price: int, ts_ns: int, qty: int | None = None) -> None:
        if quote.band is not None:
            price = min(max(price, quote.band.lower_paise), quote.band.upper_paise)
        price = max(price, quote.tick_paise)
        if qty is None:
            is_index = quote.instrument.instrument_type is InstrumentType.INDEX
            lot = quote.instrument.lot_size
            qty = 0 if is_index else self._rng.randint(1, 20) * lot * (1 if lot > 1 else 25)
        quote.trade(price, qty, ts_ns)

    def new_day(self) -> None:
        """A new session: the last price becomes the previous close, the day's OHLC and volume
        start again and the price bands move with the close (indian-market.md §4.2)."""
        for quote in self.quotes.values():
            close = quote.ltp
            quote.close = quote.open = quote.high = quote.low = close
            quote.volume = quote.value_paise = quote.last_qty = quote.sequence = 0
            quote.band = _band(quote.instrument, close, quote.tick_paise)

    def set_trade(self, key: InstrumentKey, price: int, qty: int, ts_ns: int) -> Quote:
        """Force the next trade of one instrument (tests and demos): LTP `price`, `qty` units."""
        quote = self.quotes[key]
        self._trade(quote, price, ts_ns, qty)
        return quote


def _band(inst: Instrument, close: int, tick: int) -> PriceBand | None:
    """Options get a wide band of their own; other instruments 10 % around the close."""
    if inst.instrument_type is InstrumentType.OPTION:
        return PriceBand(tick, max(close * 10, 1_000_00) // tick * tick)
    if inst.instrument_type is InstrumentType.INDEX:
        return None
    return band_around(close, 10, tick)


def _option_value(inst: Instrument, underlying: float) -> float:
    """Intrinsic value plus a time value that halves every 3 % away from the money."""
    strike = inst.strike_paise or 0
    intrinsic = max(0.0, underlying - strike if inst.symbol.endswith("CE") else strike - underlying)
    distance = abs(underlying - strike) / underlying if underlying else 0.0
    time_value: float = underlying * 0.008 * math.pow(0.5, distance / 0.03)
    return intrinsic + time_value
