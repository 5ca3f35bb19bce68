"""The Parquet history store beyond the port's contract: its layout, bytes that depend only on
the rows, atomic replacement, and one clear error for a damaged file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore, subtract_spans
from algo_trading.domain.errors import DataError
from algo_trading.engine.ports import BarKey
from tests.support.history import ist_ns, make_bars

KEY = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
T0 = ist_ns(2025, 1, 2, 9, 15)
COLS = ("ts_ns", "open", "high", "low", "close", "volume")


def _slice(bars: BarSeries, a: int, b: int) -> BarSeries:
    return BarSeries(bars.symbol, *(getattr(bars, c)[a:b] for c in COLS))


def test_files_are_partitioned_by_exchange_symbol_interval_and_ist_year(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(
        BarKey("NSE", "SBIN-EQ", "ONE_DAY"),
        make_bars("SBIN-EQ", ist_ns(2024, 12, 31), 2, step_s=86_400),
    )
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet"))
    assert files == [
        "exchange=NSE/symbol=SBIN-EQ/interval=ONE_DAY/year=2024/bars.parquet",
        "exchange=NSE/symbol=SBIN-EQ/interval=ONE_DAY/year=2025/bars.parquet",
    ]


def test_prices_are_stored_as_integer_paise_in_columns_that_say_so(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = make_bars("SBIN-EQ", T0, 5)
    store.write(KEY, bars)
    table = pq.read_table(store.path(KEY, 2025))
    assert table.column_names == [
        "ts",
        "open_paise",
        "high_paise",
        "low_paise",
        "close_paise",
        "volume",
    ]
    assert all(t == pa.int64() for t in table.schema.types[1:])
    assert table.column("close_paise").to_pylist() == bars.close.tolist()


def test_the_same_rows_give_the_same_bytes_however_they_were_written(tmp_path: Path) -> None:
    bars = make_bars("SBIN-EQ", T0, 2_000)
    once = ParquetBarStore(tmp_path / "once")
    once.write(KEY, bars)
    pieces = ParquetBarStore(tmp_path / "pieces")
    for a, b in ((1_500, 2_000), (0, 700), (500, 1_600)):  # out of order and overlapping
        pieces.write(KEY, _slice(bars, a, b))
    assert once.path(KEY, 2025).read_bytes() == pieces.path(KEY, 2025).read_bytes()


def test_a_write_that_adds_nothing_leaves_the_file_untouched(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    bars = make_bars("SBIN-EQ", T0, 100)
    store.write(KEY, bars)
    path = store.path(KEY, 2025)
    before = path.stat().st_ino, path.stat().st_mtime_ns
    assert store.write(KEY, _slice(bars, 10, 20)) == 0
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == before


def test_a_leftover_temporary_file_is_ignored_by_readers_and_swept_by_the_next_writer(
    tmp_path: Path,
) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(KEY, make_bars("SBIN-EQ", T0, 10))
    junk = store.path(KEY, 2025).parent / ".tmp-999-dead-bars.parquet"
    junk.write_bytes(b"half a file")
    assert len(store.read(KEY)) == 10
    store.write(KEY, make_bars("SBIN-EQ", T0 + 3_600 * 10**9, 10))
    assert not junk.exists()


@pytest.mark.parametrize("damage", [b"", b"PAR1 not really parquet", b"\x00" * 64])
def test_a_corrupt_file_is_one_data_error_naming_it(tmp_path: Path, damage: bytes) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(KEY, make_bars("SBIN-EQ", T0, 10))
    path = store.path(KEY, 2025)
    path.write_bytes(damage)
    for call in (
        lambda: store.read(KEY),
        store.series,
        lambda: store.write(KEY, make_bars("SBIN-EQ", T0, 1)),
    ):
        with pytest.raises(DataError) as caught:
            call()
        assert str(path) in str(caught.value)
        assert "\n" not in str(caught.value)


def test_a_parquet_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    path = store.path(KEY, 2025)
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"timestamp": [1], "open": [1.5]}), path)
    with pytest.raises(DataError, match="not a history-store file"):
        store.read(KEY)


@pytest.mark.parametrize("symbol", ["M&M-EQ", "A/B", "..", "NIFTY 50", "BAJAJ-AUTO-EQ"])
def test_any_symbol_stays_inside_the_store_and_reads_back(tmp_path: Path, symbol: str) -> None:
    store = ParquetBarStore(tmp_path / "root")
    key = BarKey("NSE", symbol, "ONE_MINUTE")
    store.write(key, make_bars(symbol, T0, 3))
    for path in (tmp_path / "root").rglob("*.parquet"):
        assert path.resolve().is_relative_to((tmp_path / "root").resolve())
    assert store.stored_keys() == [key]
    assert store.read(key).symbol == symbol


def test_a_key_with_an_unprintable_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        ParquetBarStore(tmp_path).write(
            BarKey("NSE", "SB\nIN", "ONE_MINUTE"), make_bars("x", T0, 1)
        )


def test_subtracting_fetched_spans_leaves_the_holes() -> None:
    assert subtract_spans((0, 100), [(10, 20), (30, 40)]) == [(0, 10), (20, 30), (40, 100)]
    assert subtract_spans((0, 100), [(0, 100)]) == []
    assert subtract_spans((50, 60), [(0, 55)]) == [(55, 60)]


def test_reading_fifty_thousand_bars_gives_int64_arrays(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    store.write(KEY, make_bars("SBIN-EQ", T0, 50_000))
    got = store.read(KEY)
    assert all(getattr(got, c).dtype == np.int64 for c in COLS)
    assert os.path.getsize(store.path(KEY, 2025)) < 50_000 * 48  # compressed
