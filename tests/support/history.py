"""History-store test helpers: an in-memory `MarketDataStore` fake and a bar builder."""

from __future__ import annotations

import datetime as dt

import numpy as np

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import merge_spans, year_of_ns
from algo_trading.domain.errors import DataError
from algo_trading.domain.events import IST
from algo_trading.engine.ports import BarKey, StoredSeries

__all__ = ["FakeBarStore", "ist_ns", "make_bars"]

NS = 10**9


def ist_ns(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> int:
    return int(dt.datetime(y, m, d, hh, mm, tzinfo=IST).timestamp()) * NS


def make_bars(
    symbol: str, start_ns: int, n: int, *, step_s: int = 60, base: int = 100_000, seed: int = 1
) -> BarSeries:
    """`n` consistent bars on the 5-paise tick, `step_s` apart from `start_ns`."""
    rng = np.random.default_rng(seed)
    ts = start_ns + np.arange(n, dtype=np.int64) * step_s * NS
    close = base + rng.integers(-4, 5, n).cumsum().astype(np.int64) * 5
    open_ = np.concatenate([[base], close[:-1]]).astype(np.int64)
    high = np.maximum(open_, close) + 5
    low = np.minimum(open_, close) - 5
    volume = rng.integers(1, 1000, n).astype(np.int64)
    return BarSeries(symbol, ts, open_, high, low, close, volume)


class FakeBarStore:
    """The store's contract in dictionaries: one row per start time, the newer values win."""

    def __init__(self) -> None:
        self._rows: dict[BarKey, dict[int, tuple[int, int, int, int, int]]] = {}
        self._fetched: dict[BarKey, list[tuple[int, int]]] = {}

    def write(self, key: BarKey, bars: BarSeries) -> int:
        rows = self._rows.setdefault(key, {})
        before = len(rows)
        for i in range(len(bars)):
            rows[int(bars.ts_ns[i])] = (
                int(bars.open[i]),
                int(bars.high[i]),
                int(bars.low[i]),
                int(bars.close[i]),
                int(bars.volume[i]),
            )
        return len(rows) - before

    def read(
        self, key: BarKey, start_ns: int | None = None, end_ns: int | None = None
    ) -> BarSeries:
        if key not in self._rows:
            raise DataError(f"fake store: nothing stored for {key}")
        ts = sorted(
            t
            for t in self._rows[key]
            if (start_ns is None or t >= start_ns) and (end_ns is None or t < end_ns)
        )
        cols = [np.asarray(ts, dtype=np.int64)]
        for j in range(5):
            cols.append(np.asarray([self._rows[key][t][j] for t in ts], dtype=np.int64))
        return BarSeries(key.symbol, *cols)

    def series(self) -> list[StoredSeries]:
        out = []
        for key in sorted(self._rows):
            ts = np.asarray(sorted(self._rows[key]), dtype=np.int64)
            years = tuple(sorted({int(y) for y in year_of_ns(ts)}))
            out.append(
                StoredSeries(key, int(ts[0]), int(ts[-1]), len(ts), years, tuple(self.fetched(key)))
            )
        return out

    def fetched(self, key: BarKey) -> list[tuple[int, int]]:
        return list(self._fetched.get(key, []))

    def mark_fetched(self, key: BarKey, start_ns: int, end_ns: int) -> None:
        if end_ns > start_ns:
            self._fetched[key] = merge_spans([*self.fetched(key), (start_ns, end_ns)])
