"""Minute candles from ticks, and the tick writer's buffer: flushed whole, kept on failure."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from algo_trading.adapters.live import LiveCandle, LiveTickWriter, MinuteCandles, TickRow
from algo_trading.adapters.live.ticks import read_ticks
from algo_trading.adapters.objectstore import LocalObjectStore, RetryPolicy
from algo_trading.domain.errors import ObjectStoreUnavailableError

MIN_MS = 60_000
T0_MS = 1_741_062_600_000  # 2025-03-04 10:00 IST
T0_NS = T0_MS * 1_000_000


def test_ticks_in_one_minute_make_one_candle_closed_by_the_next_minute() -> None:
    c = MinuteCandles()
    assert c.on_tick("NSE:X", T0_MS + 1, 100, 1000) is None
    assert c.on_tick("NSE:X", T0_MS + 2, 105, 1010) is None
    assert c.on_tick("NSE:X", T0_MS + 3, 95, 1030) is None
    assert c.on_tick("NSE:X", T0_MS + 4, 101, 1031) is None
    closed = c.on_tick("NSE:X", T0_MS + MIN_MS, 102, 1040)
    assert closed is not None
    assert (closed.open_paise, closed.high_paise, closed.low_paise, closed.close_paise) == (
        100,
        105,
        95,
        101,
    )
    assert closed.volume == 31
    assert closed.ticks == 4
    assert closed.start_ns == T0_NS


def test_a_late_tick_does_not_reopen_a_closed_minute_and_symbols_are_apart() -> None:
    c = MinuteCandles()
    c.on_tick("NSE:X", T0_MS + MIN_MS, 100, 0)
    assert c.on_tick("NSE:X", T0_MS, 50, 0) is None
    c.on_tick("NSE:Y", T0_MS, 7, 0)
    assert c.open["NSE:X"].low_paise == 100
    assert c.open["NSE:Y"].close_paise == 7
    assert len(c.close_all()) == 2


def _row(i: int, day_offset_ns: int = 0) -> TickRow:
    return TickRow(T0_NS + day_offset_ns + i, T0_MS, 1, "3045", "NSE:SBIN-EQ", i, 100 + i, 1, i)


def test_a_flush_writes_one_complete_parquet_file_per_ist_day(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    writer = LiveTickWriter(store)
    for i in range(10):
        writer.append(_row(i))
    writer.append(_row(0, day_offset_ns=86_400 * 10**9))
    assert writer.flush() == 11
    assert writer.buffered == 0
    assert [k.split("/")[2:5] for k in writer.keys] == [["2025", "03", "04"], ["2025", "03", "05"]]
    table = pq.read_table(io.BytesIO(store.get(writer.keys[0])))
    assert table.column("ltp_paise").to_pylist() == [100 + i for i in range(10)]
    assert read_ticks(store, (2025, 3, 4)).num_rows == 10
    assert writer.flush() == 0  # nothing buffered, nothing written


def test_a_failed_flush_keeps_every_row_for_the_next_one(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    writer = LiveTickWriter(LocalObjectStore(blocked, RetryPolicy(2, 0.001, 0.002)))
    for i in range(5):
        writer.append(_row(i))
    with pytest.raises(ObjectStoreUnavailableError):
        writer.flush()
    writer.append(_row(5))
    assert writer.buffered == 6
    writer.store = LocalObjectStore(tmp_path / "objects")
    assert writer.flush() == 6
    assert read_ticks(writer.store, (2025, 3, 4)).column("sequence").to_pylist() == list(range(6))


def test_a_batch_of_ticks_makes_the_same_candles_as_one_tick_at_a_time() -> None:
    rng = random.Random(11)
    ticks = [
        (
            rng.choice(["NSE:X", "NSE:Y", "NSE:Z"]),
            T0_MS + rng.randrange(0, 5 * MIN_MS) if rng.random() < 0.1 else T0_MS + i * 997,
            rng.choice([0, rng.randrange(90, 110)]),
            rng.choice([0, 1000 + i * 3, 900]),
        )
        for i in range(400)
    ]
    one = MinuteCandles()
    by_one = [c for t in ticks if (c := one.on_tick(*t)) is not None]
    batch = MinuteCandles()
    by_batch: list[LiveCandle] = []
    for k in range(0, len(ticks), 37):  # batches of uneven size, split anywhere
        part = ticks[k : k + 37]
        by_batch += batch.on_ticks(*(list(col) for col in zip(*part, strict=True)))
    assert by_batch == by_one
    assert batch.close_all() == one.close_all()


def test_tick_files_are_one_row_group_dictionary_only_where_values_are_few(
    tmp_path: Path,
) -> None:
    store = LocalObjectStore(tmp_path)
    writer = LiveTickWriter(store)
    writer.extend_columns(
        [
            [T0_NS + i for i in range(1000)],
            [T0_MS + i for i in range(1000)],
            [1] * 1000,
            ["3045"] * 1000,
            ["NSE:SBIN-EQ"] * 1000,
            list(range(1000)),
            [100 + i % 7 for i in range(1000)],
            [1] * 1000,
            list(range(1000)),
        ]
    )
    writer.append(_row(1000))  # rows and column batches keep their order
    assert writer.flush() == 1001
    meta = pq.ParquetFile(io.BytesIO(store.get(writer.keys[0]))).metadata
    assert meta.num_row_groups == 1
    group = meta.row_group(0)
    encodings = {
        group.column(i).path_in_schema: set(group.column(i).encodings)
        for i in range(group.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings["recv_ts_ns"]
    assert not {"PLAIN_DICTIONARY", "RLE_DICTIONARY"} & encodings["recv_ts_ns"]
    assert "RLE_DICTIONARY" in encodings["symbol"]
    table = read_ticks(store, (2025, 3, 4))
    assert table.column("sequence").to_pylist() == [*range(1000), 1000]
