"""Loading bars from CSV and Parquet: exact paise on good files, and one line naming the file,
the line and the value for every kind of bad one (issue #2, point 7)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from algo_trading.adapters.history import load_bars
from algo_trading.domain.errors import DataError

HEADER = "timestamp,open,high,low,close,volume"
ROW_1 = "2025-01-02T09:15:00+05:30,100.00,101.00,99.00,100.50,10"
ROW_3 = "2025-01-02T09:17:00+05:30,101.00,102.00,100.50,101.50,30"
# 2025-01-02 09:15 IST is 03:45 UTC
T0_NS = int(dt.datetime(2025, 1, 2, 3, 45, tzinfo=dt.UTC).timestamp()) * 10**9
MINUTE_NS = 60 * 10**9
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def write_csv(tmp_path: Path, lines: list[str], name: str = "SBIN.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_error(path: Path, symbol: str | None = None) -> str:
    with pytest.raises(DataError) as info:
        load_bars(path, symbol)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def row_2(
    ts: str = "2025-01-02T09:16:00+05:30",
    o: str = "100.50",
    h: str = "101.50",
    lo: str = "100.00",
    c: str = "101.00",
    v: str = "20",
) -> str:
    return ",".join((ts, o, h, lo, c, v))


# --- good files -----------------------------------------------------------------------------


def test_csv_prices_become_exact_paise_and_times_utc_nanoseconds(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ROW_1, row_2(), ROW_3])

    [series] = load_bars(path)

    assert series.symbol == "SBIN"
    assert series.ts_ns.tolist() == [T0_NS, T0_NS + MINUTE_NS, T0_NS + 2 * MINUTE_NS]
    assert series.open.tolist() == [10000, 10050, 10100]
    assert series.high.tolist() == [10100, 10150, 10200]
    assert series.low.tolist() == [9900, 10000, 10050]
    assert series.close.tolist() == [10050, 10100, 10150]
    assert series.volume.tolist() == [10, 20, 30]


def test_csv_accepts_a_z_offset_as_utc_and_names_the_series_after_symbol(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, "2025-01-02T03:45:00Z,100.00,101.00,99.00,100.50,10"])

    [series] = load_bars(path, "RELIANCE")

    assert series.symbol == "RELIANCE"
    assert series.ts_ns.tolist() == [T0_NS]


def test_two_decimal_prices_load_exactly_from_csv_and_float_parquet(tmp_path: Path) -> None:
    rng = random.Random(20250102)
    n = 2_000
    low = [rng.randrange(1, 10_000_000) for _ in range(n)]
    high = [lo + rng.randrange(0, 5_000) for lo in low]
    close = [rng.randint(lo, hi) for lo, hi in zip(low, high, strict=True)]
    ts = [T0_NS + i * MINUTE_NS for i in range(n)]

    def rupees(paise: int) -> str:
        return f"{paise // 100}.{paise % 100:02d}"

    lines = [HEADER] + [
        f"{dt.datetime.fromtimestamp(t // 10**9, IST).isoformat()},"
        f"{rupees(c)},{rupees(h)},{rupees(lo)},{rupees(c)},{i}"
        for i, (t, h, lo, c) in enumerate(zip(ts, high, low, close, strict=True))
    ]
    csv_path = write_csv(tmp_path, lines)
    parquet_path = tmp_path / "SBIN.parquet"
    pq.write_table(
        pa.table(
            {
                "timestamp": pa.array(ts, pa.timestamp("ns", "UTC")),
                # floats as a pandas user would write them: rupees / 100 rounds in binary
                "open": pa.array([c / 100 for c in close], pa.float64()),
                "high": pa.array([h / 100 for h in high], pa.float64()),
                "low": pa.array([lo / 100 for lo in low], pa.float64()),
                "close": pa.array([c / 100 for c in close], pa.float64()),
                "volume": pa.array(range(n), pa.int64()),
            }
        ),
        parquet_path,
    )

    for path in (csv_path, parquet_path):
        [series] = load_bars(path)
        assert series.ts_ns.tolist() == ts
        assert series.high.tolist() == high
        assert series.low.tolist() == low
        assert series.close.tolist() == close


# --- bad CSV cells, one kind each -----------------------------------------------------------

BAD_CSV_ROWS = {
    "timestamp-not-a-time": (row_2(ts="yesterday"), ["timestamp", "'yesterday'"]),
    "timestamp-impossible-date": (row_2(ts="2025-13-02T09:16:00+05:30"), ["2025-13-02"]),
    "timestamp-without-utc-offset": (
        row_2(ts="2025-01-02T09:16:00"),
        ["'2025-01-02T09:16:00'", "UTC offset"],
    ),
    "timestamp-empty": (row_2(ts=""), ["timestamp is empty"]),
    "timestamp-repeats": (row_2(ts="2025-01-02T09:15:00+05:30"), ["timestamp repeats"]),
    "timestamp-decreases": (row_2(ts="2025-01-02T09:14:00+05:30"), ["timestamp is earlier"]),
    "price-nan": (row_2(c="nan"), ["close", "'nan'", "not a number"]),
    "price-NaN": (row_2(h="NaN"), ["high", "'NaN'", "not a number"]),
    "price-infinite": (row_2(h="inf"), ["high", "'inf'"]),
    "price-text": (row_2(o="abc"), ["open", "'abc'", "not a number"]),
    "price-empty": (row_2(h=""), ["high is empty"]),
    "price-finer-than-a-paisa": (row_2(o="100.505"), ["open", "100.505", "finer than one paisa"]),
    "price-zero": (row_2(o="0.00", lo="0.00"), ["0.00 is not positive"]),
    "price-negative": (row_2(lo="-1.00"), ["low -1.00 is not positive"]),
    "price-too-large": (row_2(h="1e30"), ["high", "'1e30'", "out of range"]),
    "high-below-low": (row_2(h="99.50"), ["high 99.50 is below low 100.00"]),
    "close-above-high": (row_2(c="101.60"), ["close 101.60", "low 100.00", "high 101.50"]),
    "close-below-low": (row_2(c="99.95"), ["close 99.95", "low 100.00"]),
    "open-outside-range": (row_2(o="99.50"), ["open 99.50", "low 100.00"]),
    "volume-negative": (row_2(v="-5"), ["volume -5 is negative"]),
    "volume-fractional": (row_2(v="2.5"), ["volume 2.5 is not a whole number"]),
    "volume-text": (row_2(v="lots"), ["volume", "'lots'"]),
    "volume-empty": (row_2(v=""), ["volume is empty"]),
}


@pytest.mark.parametrize(("bad_row", "facts"), list(BAD_CSV_ROWS.values()), ids=list(BAD_CSV_ROWS))
def test_a_bad_csv_cell_is_refused_naming_file_line_and_value(
    tmp_path: Path, bad_row: str, facts: list[str]
) -> None:
    path = write_csv(tmp_path, [HEADER, ROW_1, bad_row, ROW_3])

    message = load_error(path)

    assert "line 3" in message
    for fact in facts:
        assert fact in message


def test_the_first_bad_line_in_the_file_is_the_one_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ROW_1, ROW_3, row_2(v="-5"), row_2(h="99.50")])

    message = load_error(path)

    # line 4 goes back in time; lines 4 and 5 have worse problems further right
    assert "line 4" in message
    assert "timestamp is earlier" in message


# --- bad files --------------------------------------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    assert "no such file" in load_error(tmp_path / "nope.csv")


def test_directory_instead_of_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "bars.csv"
    folder.mkdir()
    assert "not a file" in load_error(folder)


def test_unknown_extension_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ROW_1], name="SBIN.txt")
    assert "'.txt'" in load_error(path)


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["timestamp,open,high,close", "2025-01-02T09:15:00+05:30,100,101,100"]
    )
    message = load_error(path)
    assert "missing column(s) low, volume" in message


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert "no rows" in load_error(write_csv(tmp_path, [HEADER]))


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "SBIN.csv"
    path.write_bytes(b"")
    assert "cannot read it" in load_error(path)


def test_binary_garbage_is_refused_in_printable_text(tmp_path: Path) -> None:
    path = tmp_path / "SBIN.csv"
    rng = random.Random(5)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4_000)))

    message = load_error(path)

    # arrow quotes the bytes it choked on; escape codes must not reach a terminal
    assert message.isprintable()


def test_row_with_too_few_cells_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [HEADER, ROW_1, "2025-01-02T09:16:00+05:30,100.50"])
    assert "Expected 6 columns, got 2" in load_error(path)


# --- files with a symbol column ---------------------------------------------------------------

MULTI_HEADER = "timestamp,symbol,open,high,low,close,volume"


def multi_row(minute: int, symbol: str, close: str = "100.00") -> str:
    return f"2025-01-02T09:{minute:02d}:00+05:30,{symbol},{close},{close},{close},{close},1"


def test_symbol_column_gives_one_series_per_symbol_in_first_seen_order(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            MULTI_HEADER,
            multi_row(15, "TCS", "3000.00"),
            multi_row(15, "INFY", "1500.00"),  # same time, other symbol: fine
            multi_row(16, "TCS", "3001.00"),
            multi_row(17, "INFY", "1501.00"),
        ],
    )

    series = load_bars(path)

    assert [(s.symbol, s.close.tolist()) for s in series] == [
        ("TCS", [300000, 300100]),
        ("INFY", [150000, 150100]),
    ]


def test_ordering_is_checked_per_symbol_and_names_it(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            MULTI_HEADER,
            multi_row(16, "TCS"),
            multi_row(16, "INFY"),
            multi_row(17, "TCS"),
            multi_row(15, "INFY"),
        ],
    )

    message = load_error(path)

    assert "line 5" in message
    assert "earlier" in message
    assert "INFY" in message


def test_symbol_argument_picks_one_symbol_and_skips_the_others_checks(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            MULTI_HEADER,
            multi_row(16, "TCS"),
            multi_row(16, "INFY"),
            multi_row(17, "TCS", "101.00"),
            multi_row(15, "INFY"),
        ],
    )

    [series] = load_bars(path, "TCS")

    assert series.symbol == "TCS"
    assert series.close.tolist() == [10000, 10100]


def test_unknown_symbol_argument_lists_the_symbols_in_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [MULTI_HEADER, multi_row(15, "TCS"), multi_row(15, "INFY")])

    message = load_error(path, "WIPRO")

    assert "'WIPRO'" in message
    assert "TCS, INFY" in message


def test_empty_symbol_cell_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [MULTI_HEADER, multi_row(15, "TCS"), multi_row(16, "")])

    message = load_error(path)

    assert "line 3" in message
    assert "symbol is empty" in message


# --- Parquet ------------------------------------------------------------------------------


def write_parquet(
    tmp_path: Path,
    *,
    ts: Sequence[object] | None = None,
    ts_type: pa.DataType | None = None,
    prices: dict[str, Sequence[object]] | None = None,
    price_type: pa.DataType | None = None,
    volume: list[int] | None = None,
) -> Path:
    """Three good bars unless told otherwise; float prices by default."""
    t0 = dt.datetime(2025, 1, 2, 9, 15, tzinfo=IST)
    columns: dict[str, pa.Array] = {
        "timestamp": pa.array(
            ts if ts is not None else [t0 + dt.timedelta(minutes=i) for i in range(3)],
            ts_type or pa.timestamp("ns", "UTC"),
        )
    }
    good = {
        "open": [100.0, 100.5, 101.0],
        "high": [101.0, 101.5, 102.0],
        "low": [99.0, 100.0, 100.5],
        "close": [100.5, 101.0, 101.5],
    }
    for name, values in good.items():
        chosen: Sequence[object] = (prices or {}).get(name, values)
        if price_type is not None and pa.types.is_decimal(price_type):
            chosen = [None if v is None else Decimal(str(v)) for v in chosen]
        columns[name] = pa.array(chosen, price_type or pa.float64())
    columns["volume"] = pa.array(volume or [10, 20, 30], pa.int64())
    path = tmp_path / "SBIN.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_decimal_prices_and_zoned_timestamps_load_exactly(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path, ts_type=pa.timestamp("us", "Asia/Kolkata"), price_type=pa.decimal128(12, 2)
    )

    [series] = load_bars(path)

    assert series.ts_ns.tolist() == [T0_NS, T0_NS + MINUTE_NS, T0_NS + 2 * MINUTE_NS]
    assert series.close.tolist() == [10050, 10100, 10150]


BAD_PARQUET = {
    "float-nan": ({"prices": {"close": [100.5, float("nan"), 101.5]}}, ["close", "nan"]),
    "float-finer-than-a-paisa": (
        {"prices": {"open": [100.0, 100.505, 101.0]}},
        ["open 100.505", "finer than one paisa"],
    ),
    "decimal-finer-than-a-paisa": (
        {"prices": {"open": [100.0, "100.505", 101.0]}, "price_type": pa.decimal128(12, 3)},
        ["open '100.505'", "finer than one paisa"],
    ),
    "decimal-close-outside-range": (
        {"prices": {"close": [100.5, 102.0, 101.5]}, "price_type": pa.decimal128(12, 2)},
        ["close 102.00", "high 101.50"],
    ),
    "price-null": ({"prices": {"open": [100.0, None, 101.0]}}, ["open is empty"]),
    "price-non-positive": ({"prices": {"low": [99.0, -100.0, 100.5]}}, ["low -100.00"]),
    "high-below-low": (
        {"prices": {"high": [101.0, 99.5, 102.0]}},
        ["high 99.50 is below low 100.00"],
    ),
    "volume-negative": ({"volume": [10, -20, 30]}, ["volume -20 is negative"]),
    "timestamp-repeats": (
        {"ts": [dt.datetime(2025, 1, 2, 9, 15, tzinfo=IST)] * 3},
        ["timestamp repeats"],
    ),
    "timestamp-decreases": (
        {"ts": [dt.datetime(2025, 1, 2, 9, 15 - i, tzinfo=IST) for i in range(3)]},
        ["timestamp is earlier"],
    ),
}


@pytest.mark.parametrize(("change", "facts"), list(BAD_PARQUET.values()), ids=list(BAD_PARQUET))
def test_a_bad_parquet_value_is_refused_naming_file_row_and_value(
    tmp_path: Path, change: dict[str, object], facts: list[str]
) -> None:
    path = write_parquet(tmp_path, **change)  # type: ignore[arg-type]

    message = load_error(path)

    assert "row 2" in message
    for fact in facts:
        assert fact in message


def test_parquet_timestamps_without_a_zone_are_refused(tmp_path: Path) -> None:
    naive = [dt.datetime(2025, 1, 2, 9, 15 + i) for i in range(3)]  # noqa: DTZ001 - the point

    message = load_error(write_parquet(tmp_path, ts=naive, ts_type=pa.timestamp("ns")))

    assert "timestamp" in message
    assert "no UTC offset" in message


def test_parquet_integer_timestamps_are_refused_naming_the_type(tmp_path: Path) -> None:
    message = load_error(write_parquet(tmp_path, ts=[1, 2, 3], ts_type=pa.int64()))
    assert "int64" in message


def test_parquet_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "SBIN.parquet"
    path.write_bytes(b"timestamp,open\nnot parquet at all\n")
    assert "cannot read it" in load_error(path)
