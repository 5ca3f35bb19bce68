"""`data validate`'s findings on planted problems: gaps against NSE's calendar, duplicates,
impossible bars, off-grid start times; and nothing on a clean series."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.history.validate import off_grid, validate_series
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import calendar_for
from tests.support.history import ist_ns, make_bars

KEY = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
NSE = calendar_for(Exchange.NSE)
COLS = ("ts_ns", "open", "high", "low", "close", "volume")
# 2025-01-06 (Mon) to 2025-01-10 (Fri): five trading days, none a holiday
DAYS = [dt.date(2025, 1, 6) + dt.timedelta(days=i) for i in range(5)]


def _sessions(days: list[dt.date]) -> BarSeries:
    parts = [
        make_bars("SBIN-EQ", ist_ns(d.year, d.month, d.day, 9, 15), 375, seed=i)
        for i, d in enumerate(days)
    ]
    return BarSeries("SBIN-EQ", *(np.concatenate([getattr(p, c) for p in parts]) for c in COLS))


def _plant(store: ParquetBarStore, bars: BarSeries) -> None:
    """Write a year file as it is (no merge): what a damaged or foreign file would hold."""
    path = store.path(KEY, 2025)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = [pa.array(bars.ts_ns).cast(pa.timestamp("ns", "UTC"))] + [
        pa.array(getattr(bars, c)) for c in COLS[1:]
    ]
    names = ["ts", "open_paise", "high_paise", "low_paise", "close_paise", "volume"]
    schema = pa.schema(
        [pa.field(n, a.type, nullable=False) for n, a in zip(names, arrays, strict=True)]
    )
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)


def test_a_week_of_whole_sessions_is_clean(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(KEY, _sessions(DAYS))
    report = validate_series(store, KEY, NSE, 5)
    assert report.ok, report.findings
    assert report.bars == 5 * 375


def test_a_missing_day_and_a_missing_hour_are_gaps(tmp_path: Path) -> None:
    bars = _sessions([DAYS[0], DAYS[1], DAYS[3], DAYS[4]])  # Wednesday missing
    keep = np.ones(len(bars), dtype=bool)
    keep[375 + 60 : 375 + 120] = False  # Tuesday 10:15 to 11:14
    store = ParquetBarStore(tmp_path)
    store.write(KEY, BarSeries("SBIN-EQ", *(getattr(bars, c)[keep] for c in COLS)))
    report = validate_series(store, KEY, NSE, 5)
    gaps = [f.text for f in report.findings if f.kind == "gap"]
    assert gaps == [
        "2025-01-07 10:15 IST to 11:14 IST: 60 bars missing",
        "2025-01-08 09:15 IST to 15:29 IST: 375 bars missing",
    ]
    assert report.count("gap") == len(report.findings)


def test_duplicates_impossible_bars_and_off_tick_prices_are_each_named(tmp_path: Path) -> None:
    bars = _sessions(DAYS[:1])
    cols = {c: getattr(bars, c).copy() for c in COLS}
    cols["high"][10] = cols["low"][10] - 5  # high below low
    cols["open"][20] = cols["high"][20] + 5  # open above high
    cols["close"][30] += 3  # off the 5-paise tick (and maybe outside the range)
    order = np.concatenate([np.arange(375), [100]])  # minute 100 stored twice
    planted = BarSeries("SBIN-EQ", *(cols[c][order] for c in COLS))
    store = ParquetBarStore(tmp_path)
    _plant(store, planted)
    report = validate_series(store, KEY, NSE, 5)
    assert report.count("duplicate") == 1
    dups = [f.text for f in report.findings if f.kind == "duplicate"]
    assert dups == ["2025-01-06 10:55 IST is stored 2 times"]
    impossible = [f.text for f in report.findings if f.kind == "impossible"]
    assert len(impossible) == 3
    assert "is below low" in impossible[0]
    assert "open" in impossible[1]
    assert "outside" in impossible[1]
    assert "not on the 0.05 tick" in impossible[2]
    assert report.count("order") == 1  # the duplicate was appended after the last minute
    assert report.count("gap") == 0


def test_start_times_off_the_interval_grid_are_named() -> None:
    five = ist_ns(2025, 1, 6, 9, 15) + np.asarray([0, 5, 7], dtype=np.int64) * 60 * 10**9
    assert off_grid(five, "FIVE_MINUTE").tolist() == [False, False, True]
    daily = np.asarray([ist_ns(2025, 1, 6), ist_ns(2025, 1, 7, 9, 15)], dtype=np.int64)
    assert off_grid(daily, "ONE_DAY").tolist() == [False, True]


def test_a_bar_on_a_holiday_is_outside_the_sessions(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = _sessions([dt.date(2025, 2, 25), dt.date(2025, 2, 27)])
    holiday = make_bars("SBIN-EQ", ist_ns(2025, 2, 26, 9, 15), 1)  # Mahashivratri 2025
    store.write(KEY, bars)
    store.write(KEY, holiday)
    report = validate_series(store, KEY, NSE, 5)
    assert [f.kind for f in report.findings] == ["session"]


MUHURAT = dt.date(2025, 10, 21)  # Samvat 2082: continuous market 13:45-14:45 IST (calendar)


def test_a_muhurat_session_is_the_session_of_its_day(tmp_path: Path) -> None:
    minutes = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
    hours = BarKey("NSE", "SBIN-EQ", "ONE_HOUR")
    store = ParquetBarStore(tmp_path)
    store.write(minutes, make_bars("SBIN-EQ", ist_ns(2025, 10, 20, 9, 15), 375, seed=1))
    store.write(minutes, make_bars("SBIN-EQ", ist_ns(2025, 10, 21, 13, 45), 60, seed=2))
    store.write(minutes, make_bars("SBIN-EQ", ist_ns(2025, 10, 23, 9, 15), 375, seed=3))
    report = validate_series(store, minutes, NSE, 5)
    assert report.ok, report.findings
    # the hour grid of that day starts at its open (13:45), not at 09:15's 13:15 or 14:15
    store.write(hours, make_bars("SBIN-EQ", ist_ns(2025, 10, 20, 9, 15), 7, step_s=3600))
    store.write(hours, make_bars("SBIN-EQ", ist_ns(2025, 10, 21, 13, 45), 1))
    assert validate_series(store, hours, NSE, 5).ok
    on_hour = np.asarray([ist_ns(2025, 10, 21, 13, 45), ist_ns(2025, 10, 21, 14, 15)])
    assert off_grid(on_hour, "ONE_HOUR", NSE).tolist() == [False, True]
    assert off_grid(on_hour, "ONE_HOUR").tolist() == [True, False]  # no calendar: from 09:15


def test_regular_hours_on_a_muhurat_day_are_outside_its_session(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(KEY, make_bars("SBIN-EQ", ist_ns(2025, 10, 21, 9, 15), 375))
    report = validate_series(store, KEY, NSE, 5)
    sessions = [f.text for f in report.findings if f.kind == "session"]
    assert sessions[0] == "2025-10-21 09:15 IST: outside the exchange's sessions"
    assert sessions[-1] == "... and 295 more session findings"  # 375 - 60 Muhurat minutes
    assert report.count("gap") == 0
