"""Hostile files through the bars loader (issue #15, point 3): every file a user can hand us is
either loaded exactly or refused with a `DataError` of one printable line that names the file
and gives the true reason; never another exception, never a numpy warning (the suite turns
warnings into errors, and the fuzz test also records them itself)."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading.adapters.history import BarSeries, load_bars
from algo_trading.domain.errors import DataError

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]
ROWS = [
    ["2025-01-02T09:15:00+05:30", "100.00", "101.00", "99.00", "100.50", "10"],
    ["2025-01-02T09:16:00+05:30", "100.50", "101.50", "100.00", "101.00", "20"],
    ["2025-01-02T09:17:00+05:30", "101.00", "102.00", "100.50", "101.50", "30"],
]

# Text that has broken a number parser somewhere: huge and tiny exponents, digits of other
# scripts (Python's Decimal and int accept them; a price column must not), separators Python
# accepts and Arrow does not, spreadsheet formulas, invisible characters, the edges of int64.
HOSTILE_CELLS = [
    "1e30",
    "-1e30",
    "1e999999999",
    "-1e999999999",
    "1e-999999999",
    "9" * 400,
    "0." + "0" * 300 + "1",
    "१००.५०",  # Devanagari digits
    "١٠٠.٥٠",  # Arabic-Indic digits
    "１００.５０",  # fullwidth digits
    "1_000.50",
    "0x10",
    "1e",
    "+",
    "-",
    ".",
    "NaN",
    "sNaN",
    "-inf",
    "Infinity",
    "=1+1",
    "@SUM(A1)",
    "\u202e100.00",
    "100.00\u00a0",
    "\x00",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "92233720368547758.07",
    "92233720368547758.08",
    "1e16",
    "1e17",
    "1E+2",
    "0e-999999999",
    "२०२५-01-02T09:16:00+05:30",
    "9999-12-31T09:15:00+05:30",
    "0001-01-01T09:15:00+05:30",
    "2025-01-02T09:16:00+99:00",
    "2025-01-02T09:16:00.1234567891+05:30",
]


def write(tmp_path: Path, header: list[str], rows: list[list[str]], name: str = "X.csv") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """The loader's one-line refusal of `path`, with no warning on the way."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(DataError) as info:
            load_bars(path)
    assert not seen, [str(w.message) for w in seen]
    message = str(info.value)
    assert message.isprintable(), message
    assert str(path) in message
    assert "None" not in message
    return message


def cell(column: str, value: str, row: int = 1) -> list[list[str]]:
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(column)] = value
    return rows


# --- the reported classes, and more of each kind ------------------------------------------

CASES: dict[str, tuple[list[str], list[list[str]], list[str]]] = {
    "duplicate-required-column": (
        [*HEADER, "open"],
        [[*r, r[1]] for r in ROWS],
        ["line 1", "column 'open' appears twice", "columns 2 and 7"],
    ),
    "duplicate-other-column": (
        [*HEADER, "note", "note"],
        [[*r, "a", "b"] for r in ROWS],
        ["line 1", "column 'note' appears twice"],
    ),
    "volume-1e30": (HEADER, cell("volume", "1e30"), ["line 3", "volume '1e30'", "out of range"]),
    "volume-beyond-int64": (
        HEADER,
        cell("volume", "9223372036854775808"),
        ["line 3", "out of range"],
    ),
    "volume-huge-exponent": (
        HEADER,
        cell("volume", "1e999999999"),
        ["line 3", "out of range"],
    ),
    "volume-unicode-digits": (
        HEADER,
        cell("volume", "१०"),
        ["line 3", "volume '१०'", "not a number", "ASCII"],
    ),
    "volume-fraction-with-exponent": (
        HEADER,
        cell("volume", "2.5e0"),
        ["line 3", "not a whole number"],
    ),
    "open-unicode-digits": (
        HEADER,
        cell("open", "१००.५०"),
        ["line 3", "open '१००.५०'", "not a number", "ASCII"],
    ),
    "high-fullwidth-digits": (
        HEADER,
        cell("high", "１０１.５０"),
        ["line 3", "high", "not a number"],
    ),
    "close-underscore": (HEADER, cell("close", "1_01.00"), ["line 3", "close", "not a number"]),
    "open-huge-exponent": (
        HEADER,
        cell("open", "1e999999999"),
        ["line 3", "open '1e999999999'", "out of range"],
    ),
    "low-many-digits": (HEADER, cell("low", "9" * 400), ["line 3", "low", "out of range"]),
    "low-tiny-exponent": (
        HEADER,
        cell("low", "1e-999999999"),
        ["line 3", "finer than one paisa"],
    ),
    "open-hex": (HEADER, cell("open", "0x10"), ["line 3", "'0x10'", "not a number"]),
    "timestamp-unicode-digits": (
        HEADER,
        cell("timestamp", "२०२५-01-02T09:16:00+05:30"),
        ["line 3", "timestamp", "ISO 8601"],
    ),
    "timestamp-beyond-nanoseconds": (
        HEADER,
        cell("timestamp", "9999-12-31T09:15:00+05:30"),
        ["line 3", "timestamp", "1678", "2261"],
    ),
    "symbol-with-control-codes": (
        ["symbol", *HEADER],
        [["SBIN", *ROWS[0]], ["A\x1b[2J\u2028B", *ROWS[1]], ["SBIN", *ROWS[2]]],
        ["line 3", "symbol 'A\\x1b[2J\\u2028B'", "does not print"],
    ),
}


@pytest.mark.parametrize(("header", "rows", "facts"), list(CASES.values()), ids=list(CASES))
def test_a_hostile_csv_is_refused_with_its_true_reason_on_one_line(
    tmp_path: Path, header: list[str], rows: list[list[str]], facts: list[str]
) -> None:
    message = refusal(write(tmp_path, header, rows))

    for fact in facts:
        assert fact in message


def test_a_volume_beyond_float_precision_loads_exactly(tmp_path: Path) -> None:
    # 2**53 + 1 has no float64; read through a float it would come back as 2**53
    [series] = load_bars(write(tmp_path, HEADER, cell("volume", str(2**53 + 1))))
    assert series.volume.tolist()[1] == 2**53 + 1


def test_whole_volumes_written_with_a_decimal_point_or_exponent_are_accepted(
    tmp_path: Path,
) -> None:
    rows = cell("volume", "20.0")
    rows[2][5] = "3e1"
    [series] = load_bars(write(tmp_path, HEADER, rows))
    assert series.volume.tolist() == [10, 20, 30]


def parquet(tmp_path: Path, **columns: pa.Array) -> Path:
    base = {
        "timestamp": pa.array([0, 60, 120], pa.int64())
        .cast(pa.timestamp("s"))
        .cast(pa.timestamp("s", "UTC")),
        "open": pa.array([100.0, 100.5, 101.0]),
        "high": pa.array([101.0, 101.5, 102.0]),
        "low": pa.array([99.0, 100.0, 100.5]),
        "close": pa.array([100.5, 101.0, 101.5]),
        "volume": pa.array([10, 20, 30], pa.int64()),
    }
    base.update(columns)
    path = tmp_path / "X.parquet"
    pq.write_table(pa.table(base), path)
    return path


PARQUET_CASES: dict[str, tuple[dict[str, pa.Array], list[str]]] = {
    "float-volume-1e30": (
        {"volume": pa.array([10.0, 1e30, 30.0])},
        ["row 2", "volume", "out of range"],
    ),
    "unsigned-volume-beyond-int64": (
        {"volume": pa.array([10, 2**64 - 1, 30], pa.uint64())},
        ["row 2", "volume", "out of range"],
    ),
    "float-price-1e308": (
        {"high": pa.array([101.0, 1e308, 102.0])},
        ["row 2", "high", "out of range"],
    ),
    "integer-price-beyond-int64-paise": (
        {"high": pa.array([101, 2**62, 102], pa.int64())},
        ["row 2", "high", "out of range"],
    ),
    "decimal-price-beyond-int64-paise": (
        {"close": pa.array([1, 10**30, 2], pa.decimal128(38, 0))},
        ["row 2", "close", "out of range"],
    ),
    "timestamp-beyond-nanoseconds": (
        {
            "timestamp": pa.array([0, 10**12, 2 * 10**12], pa.int64())
            .cast(pa.timestamp("s"))
            .cast(pa.timestamp("s", "UTC"))
        },
        ["row 2", "timestamp", "1678", "2261"],
    ),
    "duplicate-column": ({}, ["column 'open' appears twice"]),
}


@pytest.mark.parametrize(
    ("columns", "facts"), list(PARQUET_CASES.values()), ids=list(PARQUET_CASES)
)
def test_a_hostile_parquet_file_is_refused_with_its_true_reason_on_one_line(
    tmp_path: Path, columns: dict[str, pa.Array], facts: list[str]
) -> None:
    path = parquet(tmp_path, **columns)
    if not columns:  # a Parquet file may hold two columns of one name
        table = pq.read_table(path)
        table = table.append_column("open", table.column("open"))
        pq.write_table(table, path)

    message = refusal(path)

    for fact in facts:
        assert fact in message


# --- fuzz ---------------------------------------------------------------------------------

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_CELLS),
    st.text(max_size=12),
    st.from_regex(r"[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,12})?", fullmatch=True),
)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = list(HEADER)
    rows = [list(r) for r in ROWS]
    for _ in range(draw(st.integers(1, 3))):
        rows[draw(st.integers(0, 2))][draw(st.integers(0, 5))] = draw(hostile_text)
    if draw(st.booleans()):
        header[draw(st.integers(0, 5))] = draw(st.sampled_from([*HEADER, "symbol", "Open", ""]))
    return header, rows


def check_result(path: Path) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            loaded = load_bars(path)
        except DataError as exc:
            message = str(exc)
            assert message.isprintable(), message
            assert str(path) in message
            assert "None" not in message
            loaded = None
    assert not seen, [str(w.message) for w in seen]
    for s in loaded or []:
        assert isinstance(s, BarSeries)
        assert (s.low > 0).all()
        assert (s.low <= s.high).all()
        assert (s.volume >= 0).all()


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
@given(hostile_files())
def test_any_mutated_csv_loads_or_is_one_printable_line(
    tmp_path: Path, case: tuple[list[str], list[list[str]]]
) -> None:
    header, rows = case
    check_result(write(tmp_path, header, rows))


def test_a_symbol_taken_from_a_file_name_that_does_not_print_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, ROWS, name="SBIN\x1b[2J.csv")

    with pytest.raises(DataError) as info:
        load_bars(path)

    message = str(info.value)
    assert message.isprintable()
    assert "SBIN?[2J.csv: symbol 'SBIN\\x1b[2J'" in message
    assert "does not print" in message
