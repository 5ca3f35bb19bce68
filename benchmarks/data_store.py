"""Data store speed (issue #11): bars per second loaded from the history store, beside the plain
way (pandas.read_csv of the same bars) in the same run.

`bench_history()`: one year of NSE one-minute bars (every 2025 trading day of the calendar, 375
a day: about 93,000 a symbol) for --symbols symbols (50: about 4.7 million bars) is written
once to a Parquet history store and once as one CSV per symbol, in a temporary folder. Then,
best and median of --repeat runs each:
* the store: `ParquetBarStore.read` of every symbol's year, int64 numpy arrays in hand
  (target: the 50-symbol year in under 1 s);
* the peer: `pandas.read_csv` of the same CSV files (ISO timestamps left as text, prices as
  floats: the least a plain reader does, so the comparison flatters pandas);
* context: the project's hardened CSV loader (`load_bars`, exact paise, every check) on the
  same files.
Files are read right after they were written, so both sides read from the page cache: what is
measured is decoding, not the disk.

Run: .venv/bin/python benchmarks/data_store.py [--symbols N] [--repeat N] [--no-hardened]
Exits 1 when the store misses its target. (The live-capture and cache figures of issue #11
join this script from the data service's side as functions of their own.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from algo_trading.adapters.history import BarSeries, load_bars
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.backtest import write_bars
from algo_trading.domain.events import IST
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import calendar_for

TARGET_S = 1.0  # the 50-symbol year from the store (issue #11)
YEAR = 2025


def year_of_minutes(symbol: str, seed: int) -> BarSeries:
    """Every continuous-session minute of NSE's 2025 trading days: a random walk on the tick."""
    nse = calendar_for(Exchange.NSE)
    days = nse.trading_days_between(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    opens = np.asarray(
        [int(dt.datetime.combine(d, dt.time(9, 15), tzinfo=IST).timestamp()) for d in days],
        dtype=np.int64,
    )
    minutes = np.arange(375, dtype=np.int64) * 60
    ts = ((opens[:, None] + minutes[None, :]).ravel()) * 10**9
    rng = np.random.default_rng(seed)
    n = len(ts)
    close = 100_000 + rng.integers(-3, 4, n).cumsum().astype(np.int64) * 5
    close = np.maximum(close, 1_000)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = rng.integers(0, 3, n).astype(np.int64) * 5
    high = np.maximum(open_, close) + wick
    low = np.maximum(np.minimum(open_, close) - wick, 5)
    volume = rng.integers(1, 5_000, n).astype(np.int64)
    return BarSeries(symbol, ts, open_, high, low, close, volume)


def _timed(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    times, count = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), count


def bench_history(symbols: int = 50, repeat: int = 3, hardened: bool = True) -> dict[str, float]:
    """Write the bars, then time the reads; the figures by name (seconds, bars per second)."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        root = Path(tmp)
        store = ParquetBarStore(root / "store")
        names = [f"SYM{i:02d}-EQ" for i in range(symbols)]
        csvs = []
        t0 = time.perf_counter()
        for i, name in enumerate(names):
            bars = year_of_minutes(name, seed=i)
            store.write(BarKey("NSE", name, "ONE_MINUTE"), bars)
            csvs.append(write_bars(bars, root / "csv" / f"{name}.csv"))
        figures["prepare_s"] = time.perf_counter() - t0
        keys = [BarKey("NSE", n, "ONE_MINUTE") for n in names]

        def from_store() -> int:
            return sum(len(store.read(k)) for k in keys)

        def pandas_csv() -> int:
            return sum(len(pd.read_csv(p)) for p in csvs)

        def hardened_csv() -> int:
            return sum(len(s) for p in csvs for s in load_bars(p))

        runs = [("store", from_store), ("pandas_read_csv", pandas_csv)]
        if hardened:
            runs.append(("load_bars_csv", hardened_csv))
        for label, fn in runs:
            best, median, bars = _timed(fn, repeat)
            figures[f"{label}_best_s"] = best
            figures[f"{label}_median_s"] = median
            figures[f"{label}_bars_per_s"] = bars / best
            figures["bars"] = bars
        figures["store_bytes"] = sum(p.stat().st_size for p in (root / "store").rglob("*.parquet"))
        figures["csv_bytes"] = sum(p.stat().st_size for p in csvs)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-hardened", action="store_true", help="skip load_bars on the CSVs")
    args = parser.parse_args(argv)
    f = bench_history(args.symbols, args.repeat, hardened=not args.no_hardened)
    bars = int(f["bars"])
    print(f"history store: {args.symbols} symbols x one year of 1-minute bars = {bars:,} bars")
    print(
        f"  prepared in {f['prepare_s']:.1f} s; Parquet {f['store_bytes'] / 1e6:,.0f} MB, "
        f"CSV {f['csv_bytes'] / 1e6:,.0f} MB"
    )
    rows = [
        ("store (ParquetBarStore.read)", "store"),
        ("pandas.read_csv (peer)", "pandas_read_csv"),
    ]
    if "load_bars_csv_best_s" in f:
        rows.append(("load_bars on CSV (context)", "load_bars_csv"))
    for title, label in rows:
        print(
            f"  {title:<30} best {f[label + '_best_s']:6.3f} s  median "
            f"{f[label + '_median_s']:6.3f} s  {f[label + '_bars_per_s']:>14,.0f} bars/s"
        )
    ratio = f["pandas_read_csv_best_s"] / f["store_best_s"]
    ok = f["store_best_s"] < TARGET_S
    verdict = "met" if ok else "MISSED"
    print(
        f"  store is {ratio:.1f}x pandas.read_csv; "
        f"target < {TARGET_S:.0f} s for the year: {verdict}"
    )
    return 0 if ok or args.symbols != 50 else 1


if __name__ == "__main__":
    sys.exit(main())
