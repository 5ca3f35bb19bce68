"""The MarketDataStore contract (engine/ports.py), run against the in-memory fake and the
Parquet store: what every history store must do, whatever it keeps its bars in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.domain.errors import DataError
from algo_trading.engine.ports import BarKey, MarketDataStore
from tests.support.history import FakeBarStore, ist_ns, make_bars

KEY = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
T0 = ist_ns(2025, 1, 2, 9, 15)


@pytest.fixture(params=["fake", "parquet"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MarketDataStore[BarSeries]]:
    if request.param == "fake":
        yield FakeBarStore()
    else:
        yield ParquetBarStore(tmp_path / "history")


def _same(a: BarSeries, b: BarSeries) -> bool:
    cols = ("ts_ns", "open", "high", "low", "close", "volume")
    return all(np.array_equal(getattr(a, c), getattr(b, c)) for c in cols)


def test_bars_written_are_read_back_in_time_order(store: MarketDataStore[BarSeries]) -> None:
    bars = make_bars("SBIN-EQ", T0, 300)
    shuffled = np.random.default_rng(3).permutation(300)
    scrambled = BarSeries(
        "SBIN-EQ",
        *(getattr(bars, c)[shuffled] for c in ("ts_ns", "open", "high", "low", "close", "volume")),
    )
    assert store.write(KEY, scrambled) == 300
    assert _same(store.read(KEY), bars)


def test_writing_the_same_bars_twice_stores_them_once(store: MarketDataStore[BarSeries]) -> None:
    bars = make_bars("SBIN-EQ", T0, 100)
    store.write(KEY, bars)
    assert store.write(KEY, bars) == 0
    assert _same(store.read(KEY), bars)


def test_an_overlapping_write_adds_only_new_start_times_and_the_newer_values_win(
    store: MarketDataStore[BarSeries],
) -> None:
    store.write(KEY, make_bars("SBIN-EQ", T0, 100, seed=1))
    newer = make_bars("SBIN-EQ", T0 + 50 * 60 * 10**9, 100, seed=2)
    assert store.write(KEY, newer) == 50
    got = store.read(KEY)
    assert len(got) == 150
    assert np.array_equal(got.close[50:], newer.close)


def test_a_read_returns_the_half_open_range_asked(store: MarketDataStore[BarSeries]) -> None:
    store.write(KEY, make_bars("SBIN-EQ", T0, 100))
    got = store.read(KEY, T0 + 10 * 60 * 10**9, T0 + 20 * 60 * 10**9)
    assert got.ts_ns.tolist() == [T0 + i * 60 * 10**9 for i in range(10, 20)]


def test_reading_a_series_never_stored_is_a_data_error(store: MarketDataStore[BarSeries]) -> None:
    with pytest.raises(DataError, match="SBIN-EQ"):
        store.read(KEY)


def test_series_reports_coverage_across_ist_years(store: MarketDataStore[BarSeries]) -> None:
    # the daily candle of 1 January 2025 IST starts on 31 December 2024 in UTC
    daily = BarKey("NSE", "SBIN-EQ", "ONE_DAY")
    store.write(daily, make_bars("SBIN-EQ", ist_ns(2024, 12, 31), 2, step_s=86_400))
    store.write(KEY, make_bars("SBIN-EQ", T0, 10))
    by_key = {s.key: s for s in store.series()}
    assert by_key[daily].years == (2024, 2025)
    assert by_key[daily].bars == 2
    assert by_key[daily].first_ns == ist_ns(2024, 12, 31)
    assert by_key[daily].last_ns == ist_ns(2025, 1, 1)
    assert by_key[KEY].years == (2025,)


def test_fetched_spans_merge_where_they_touch(store: MarketDataStore[BarSeries]) -> None:
    store.mark_fetched(KEY, 100, 200)
    store.mark_fetched(KEY, 300, 400)
    assert store.fetched(KEY) == [(100, 200), (300, 400)]
    store.mark_fetched(KEY, 200, 300)
    assert store.fetched(KEY) == [(100, 400)]
    assert store.fetched(BarKey("NSE", "TCS-EQ", "ONE_MINUTE")) == []
