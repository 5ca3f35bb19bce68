"""Bars from CSV or Parquet files: columns `timestamp` (with a UTC offset), `open`, `high`,
`low`, `close`, `volume`, and optionally `symbol`. Read with pyarrow, checked with numpy, and
refused with one line naming the file, the line and the problem.

Prices become integer paise exactly: text and decimal columns are parsed as decimals; a float
column (Parquet) is accepted only where every value is within a millionth of a paisa of a
whole paisa, i.e. where it was written from a two-decimal price.

Files come from anywhere, so no text reaches Arrow's decimal parser unless it is a short plain
number: that parser crashes the process on an exponent like `1e-9999999` and silently returns
0 for a thousand-digit number (pyarrow 26). Everything else is read here, exactly, with bounds
on digits and exponents, and refused with its true reason: not a number (digits must be ASCII
0-9; Python itself would read `१००` or `1_000`), out of range (beyond int64 paise or units),
or finer than one paisa. Nothing on the way may print a numpy warning.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from algo_trading.adapters.history.numbers import (
    FINER,
    OUT_OF_RANGE,
    scaled_int,
    show,
)
from algo_trading.adapters.history.sessions import first_off_session
from algo_trading.domain.errors import DataError
from algo_trading.market.calendar import TradingCalendar

__all__ = ["REQUIRED_COLUMNS", "BarSeries", "load_bars", "series_of_table"]

REQUIRED_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")

I64 = npt.NDArray[np.int64]


def _i64(values: object) -> I64:
    return np.asarray(values, dtype=np.int64)


@dataclass(frozen=True)
class BarSeries:
    """One symbol's bars as int64 arrays: epoch ns (UTC) and paise."""

    symbol: str
    ts_ns: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64

    def __len__(self) -> int:
        return len(self.ts_ns)


def load_bars(
    path: str | Path, symbol: str | None = None, *, calendar: TradingCalendar | None = None
) -> list[BarSeries]:
    """Load and check a file of bars. A file with a `symbol` column gives one series per
    symbol (or only `symbol`'s when named); otherwise the series is called `symbol`, or the
    file's stem. With a `calendar`, a bar outside its sessions is refused too."""
    try:
        return _load(Path(path), symbol, calendar)
    except DataError as exc:
        text = str(exc)
        if text.isprintable():
            raise
        # a file name may hold any character: the message must still be one printable line
        raise DataError("".join(ch if ch.isprintable() else "?" for ch in text)) from None
    finally:
        # The parsed table is garbage now; hand its memory back so a long backtest that
        # follows does not carry it (about 150 MB per million rows).
        pa.default_memory_pool().release_unused()


def _load(p: Path, symbol: str | None, calendar: TradingCalendar | None) -> list[BarSeries]:
    return series_of_table(p, _read_table(p), symbol, calendar)


def series_of_table(
    p: Path, table: pa.Table, symbol: str | None, calendar: TradingCalendar | None
) -> list[BarSeries]:
    """The checks of `load_bars` on a table already read (the CSV importer's normalised one);
    `p` names the source in messages."""
    _unique_columns(p, table.column_names)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise DataError(
            f"{p}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED_COLUMNS)})"
        )
    if table.num_rows == 0:
        raise DataError(f"{p}: no rows of data")
    ts = _timestamps(p, table.column("timestamp"))
    prices = {c: _paise(p, c, table.column(c)) for c in PRICE_COLUMNS}
    volume = _volume(p, table.column("volume"))
    if "symbol" in table.column_names:
        symbols = _strings(p, "symbol", table.column("symbol"))
        names = list(dict.fromkeys(symbols.tolist()))
        if symbol is not None:
            if symbol not in names:
                listed = ", ".join(names[:10])  # printable: checked by _strings
                raise DataError(f"{p}: symbol {show(symbol)} is not in the file (it has {listed})")
            names = [symbol]
        out = []
        for name in names:
            rows = np.flatnonzero(symbols == name)
            out.append(_series(p, name, rows, ts, prices, volume, calendar))
        return out
    name = symbol or p.stem
    if not name or not name.isprintable():  # it goes into reports and output files
        raise DataError(f"{p}: symbol {show(name)} is empty or has a character that does not print")
    rows = np.arange(table.num_rows)
    return [_series(p, name, rows, ts, prices, volume, calendar)]


def _unique_columns(p: Path, names: list[str]) -> None:
    """Two columns of one name make every later lookup ambiguous: refuse the file."""
    twice = [name for name, n in Counter(names).items() if n > 1]
    if twice:
        name = twice[0]
        where = " and ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        header = ", line 1 (header)" if p.suffix.lower() == ".csv" else ""
        raise DataError(f"{p}{header}: column {show(name)} appears twice (columns {where})")


# The first, fast read of a CSV: every column in its final type, in one pass.
_FAST_CSV_TYPES = {
    "timestamp": pa.timestamp("ns", "UTC"),
    **{c: pa.decimal128(18, 2) for c in PRICE_COLUMNS},
    "volume": pa.int64(),
    "symbol": pa.string(),
}
# The same where a cell may hold an exponent: prices as text, screened before Arrow parses
# them (its decimal parser crashes the process on `1e-9999999`, pyarrow 26).
_SAFE_CSV_TYPES = _FAST_CSV_TYPES | {c: pa.string() for c in PRICE_COLUMNS}
_TEXT_CSV_TYPES = {c: pa.string() for c in (*REQUIRED_COLUMNS, "symbol")}


def _read_table(p: Path) -> pa.Table:
    """Read the file. A CSV is first read with its final types in one pass (the common, clean
    case); if that fails anywhere, it is read again as text so the checks can name the line."""
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if not p.is_file():
        raise DataError(f"{p}: not a file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            data = p.read_bytes()
            body = data.find(b"\n") + 1 or len(data)  # the header has e's of its own
            exponents = data.find(b"e", body) >= 0 or data.find(b"E", body) >= 0
            try:
                return pacsv.read_csv(
                    pa.BufferReader(data),
                    convert_options=pacsv.ConvertOptions(
                        column_types=_SAFE_CSV_TYPES if exponents else _FAST_CSV_TYPES,
                        # only an empty cell is missing: "nan" or "NA" must be named as written
                        strings_can_be_null=False,
                        null_values=[""],
                    ),
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # read again as text below, to find and name the bad cell
            return pacsv.read_csv(
                pa.BufferReader(data),
                convert_options=pacsv.ConvertOptions(
                    column_types=_TEXT_CSV_TYPES, strings_can_be_null=False
                ),
            )
        if suffix in (".parquet", ".pq"):
            # Arrow refuses to read two columns of one name with a message about FieldRefs
            _unique_columns(p, pq.read_schema(p).names)
            return pq.read_table(p)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # arrow quotes the offending bytes; a binary file must not put control codes on a terminal
        first = "".join(ch if ch.isprintable() else "?" for ch in first)[:200]
        raise DataError(f"{p}: cannot read it: {first}") from None
    raise DataError(f"{p}: unknown file type {show(suffix)} (use .csv or .parquet)")


def _line(i: int) -> str:
    """Row index -> where a person finds it: line i + 2 of a CSV (the header is line 1)."""
    return f"row {i + 1} (line {i + 2})"


def _nulls(p: Path, name: str, col: pa.ChunkedArray) -> None:
    if col.null_count:
        i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{p}, {_line(i)}: {name} is empty")


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


# --- timestamps -------------------------------------------------------------------------------

# What an int64 of nanoseconds can hold: 1677-09-21 to 2262-04-11 (UTC).
_NS_YEARS = "outside the years 1678 to 2261 that nanosecond timestamps can hold"
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _timestamps(p: Path, col: pa.ChunkedArray) -> I64:
    _nulls(p, "timestamp", col)
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            raise DataError(
                f"{p}: timestamp column has no UTC offset (time zone); "
                "write timestamps like 2025-01-02T09:15:00+05:30"
            )
        _within_ns(p, col, _UNIT_NS[t.unit])
        return _i64(col.cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_numpy())
    if not _is_text(t):
        raise DataError(f"{p}: timestamp column has type {t}; use ISO 8601 text with an offset")
    try:
        return _i64(pc.cast(col, pa.timestamp("ns", "UTC")).cast(pa.int64()).to_numpy())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, v in enumerate(col.to_pylist()):
        try:
            pc.cast(pa.array([v]), pa.timestamp("ns", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(f"{p}, {_line(i)}: timestamp {show(v)} {_why_not_a_time(v)}") from None
    raise DataError(f"{p}: timestamp column cannot be read as times with a UTC offset")


def _within_ns(p: Path, col: pa.ChunkedArray, ns_per_unit: int) -> None:
    if ns_per_unit == 1:
        return
    raw = _i64(col.cast(pa.int64()).to_numpy())
    limit = (2**63 - 1) // ns_per_unit
    out = (raw > limit) | (raw < -limit)
    if out.any():
        i = _first(out)
        raise DataError(f"{p}, {_line(i)}: timestamp is {_NS_YEARS}")


def _why_not_a_time(text: str) -> str:
    example = "(like 2025-01-02T09:15:00+05:30)"
    if not text.isascii():
        return f"is not an ISO 8601 time {example}: digits and letters must be ASCII"
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        tail = text[10:]
        if "+" in tail or "-" in tail or text.endswith("Z"):
            return "is not a valid date and time"
        return f"is not an ISO 8601 time with a UTC offset {example}"
    if parsed.tzinfo is None:
        return f"has no UTC offset {example}"
    if not 1678 <= parsed.year <= 2261:
        return f"is {_NS_YEARS}"
    return f"is not a date and time this loader reads {example}"


# --- prices and volumes ------------------------------------------------------------------------

# Text Arrow may parse: short, plain, ASCII. Anything else is read by `scaled_int`.
_PLAIN = {2: r"^[0-9]{1,15}(\.[0-9]{1,2})?$", 0: r"^[0-9]{1,18}$"}
_INT64_PAISE = (2**63 - 1) // 100  # the largest number of rupees that fits int64 paise


def _paise(p: Path, name: str, col: pa.ChunkedArray) -> I64:
    _nulls(p, name, col)
    t = col.type
    if pa.types.is_floating(t):
        return _float_values(p, name, col, places=2)
    if pa.types.is_integer(t):
        return _int_values(p, name, col, _INT64_PAISE) * 100
    if _is_text(t):
        return _text_values(p, name, col, places=2)
    if not pa.types.is_decimal(t):
        raise DataError(f"{p}: column {name} has type {t}; prices must be numbers")
    fast = _decimal_paise(col)
    if fast is not None:
        return fast
    # beyond int64 paise or finer than a paisa: read each value as its exact text
    return _text_values(p, name, pc.cast(col, pa.string()), places=2)


def _volume(p: Path, col: pa.ChunkedArray) -> I64:
    _nulls(p, "volume", col)
    t = col.type
    if pa.types.is_integer(t):
        return _int_values(p, "volume", col, 2**63 - 1)
    if pa.types.is_floating(t):
        return _float_values(p, "volume", col, places=0)
    if _is_text(t) or pa.types.is_decimal(t):
        return _text_values(p, "volume", pc.cast(col, pa.string()), places=0)
    raise DataError(f"{p}: column volume has type {t}; volumes must be whole numbers")


def _reason(name: str, text: str, why: str, places: int) -> str:
    if why == FINER:
        why = "is finer than one paisa" if places == 2 else "is not a whole number"
        if places == 0 and len(text) <= 40:  # a plain ASCII number: print it as the user wrote it
            bare = text.strip(" \t")
            return f"{name} {bare} {why}"
    return f"{name} {show(text)} {why}"


def _text_values(p: Path, name: str, col: pa.ChunkedArray, places: int) -> I64:
    """Exact values of a text column: the short plain cells through Arrow at once, every other
    cell through `scaled_int`, which names the first bad one."""
    plain = pc.match_substring_regex(col, _PLAIN[places])
    safe = pc.if_else(plain, col, "0")
    if places == 2:
        fast = _decimal_paise(pc.cast(safe, pa.decimal128(17, 2)))
        if fast is None:  # a bug: 17 digits always fit int64 paise
            raise RuntimeError(f"{p}: {name}: plain prices did not fit int64 paise")
        out = fast
    else:
        out = _i64(pc.cast(safe, pa.int64()).to_numpy())
    odd = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(odd):
        out = out.copy()
        texts = pc.take(col, pa.array(odd)).to_pylist()
        for i, text in zip(odd.tolist(), texts, strict=True):
            if not text.strip(" \t"):  # text columns keep empty cells as empty text
                raise DataError(f"{p}, {_line(i)}: {name} is empty")
            value = scaled_int(text, places)
            if isinstance(value, str):
                raise DataError(f"{p}, {_line(i)}: {_reason(name, text, value, places)}")
            out[i] = value
    return out


def _float_values(p: Path, name: str, col: pa.ChunkedArray, places: int) -> I64:
    """A float column (Parquet) holds exact values only where each is a whole number of paise
    (or units) within a millionth, and inside int64: checked before any cast, so numpy never
    overflows or warns."""
    raw = col.to_numpy()
    finite = np.isfinite(raw)
    if not finite.all():
        i = _first(~finite)
        raise DataError(f"{p}, {_line(i)}: {name} is {float(raw[i])!r}, not a number")
    bound = 2.0**63 / 10**places
    out = np.abs(raw) >= bound
    if out.any():
        i = _first(out)
        raise DataError(f"{p}, {_line(i)}: {name} {float(raw[i])!r} {OUT_OF_RANGE}")
    x = raw * float(10**places)
    r = np.rint(x)
    off = np.abs(x - r) > 1e-6
    if off.any():
        i = _first(off)
        why = "is finer than one paisa" if places == 2 else "is not a whole number"
        raise DataError(f"{p}, {_line(i)}: {name} {float(raw[i])!r} {why}")
    return _i64(r)


def _int_values(p: Path, name: str, col: pa.ChunkedArray, largest: int) -> I64:
    """An integer column, each value at most `largest` in size (unsigned 64-bit included)."""
    big = pc.greater(col, pa.scalar(largest, col.type)) if _fits(largest, col.type) else None
    if pa.types.is_signed_integer(col.type) and _fits(-largest, col.type):
        small = pc.less(col, pa.scalar(-largest, col.type))
        big = small if big is None else pc.or_(big, small)
    if big is not None and pc.any(big).as_py():
        i = _first(big.to_numpy(zero_copy_only=False))
        value = col[i].as_py()
        raise DataError(f"{p}, {_line(i)}: {name} {value} {OUT_OF_RANGE}")
    return _i64(col.cast(pa.int64()).to_numpy())


def _fits(value: int, t: pa.DataType) -> bool:
    """Whether `value` is representable in integer type `t` (else no value can pass it)."""
    bits: int = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0 <= value < 1 << bits
    return -(1 << (bits - 1)) <= value < 1 << (bits - 1)


def _decimal_paise(col: pa.ChunkedArray | pa.Array) -> I64 | None:
    """A decimal128 column at scale 2 holds paise as its unscaled integers: read them straight
    from the buffer (low 64 bits of each 128-bit value, checked against the high 64)."""
    try:
        arr = (col if col.type.scale == 2 else col.cast(pa.decimal128(38, 2))).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if isinstance(arr, pa.ChunkedArray):  # an empty column stays chunked
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], pa.decimal128(38, 2))
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    words = words[2 * arr.offset : 2 * (arr.offset + len(arr))]
    low, high = words[0::2], words[1::2]
    if not (high == (low >> 63)).all():
        return None  # beyond int64 paise: let the slow path say which row
    return _i64(low).copy()


def _strings(p: Path, name: str, col: pa.ChunkedArray) -> npt.NDArray[np.str_]:
    _nulls(p, name, col)
    text = col.cast(pa.string())
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    if pc.any(blank).as_py():  # CSV cells are read with empty text kept, not as nulls
        i = _first(blank.to_numpy(zero_copy_only=False))
        raise DataError(f"{p}, {_line(i)}: {name} is empty")
    # a name goes into reports, messages and output files: no control or invisible characters
    odd = pc.invert(pc.utf8_is_printable(text))
    if pc.any(odd).as_py():
        i = _first(odd.to_numpy(zero_copy_only=False))
        raise DataError(
            f"{p}, {_line(i)}: {name} {show(text[i].as_py())} has a character that does not print"
        )
    return np.asarray(text.to_pylist())


def _series(
    p: Path,
    symbol: str,
    rows: npt.NDArray[np.intp],
    ts: I64,
    prices: dict[str, I64],
    volume: I64,
    calendar: TradingCalendar | None,
) -> BarSeries:
    if len(rows) == len(ts):  # the whole file: no copy
        s = BarSeries(
            symbol, ts, prices["open"], prices["high"], prices["low"], prices["close"], volume
        )
    else:
        s = BarSeries(
            symbol,
            ts[rows],
            prices["open"][rows],
            prices["high"][rows],
            prices["low"][rows],
            prices["close"][rows],
            volume[rows],
        )
    _check(p, s, rows, calendar)
    return s


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _rupees(paise: int) -> str:
    return f"{Decimal(int(paise)).scaleb(-2)}"


def _check(
    p: Path, s: BarSeries, rows: npt.NDArray[np.intp], calendar: TradingCalendar | None
) -> None:
    """The first problem in file order, named with its line."""
    problems: list[tuple[int, str]] = []
    d = np.diff(s.ts_ns)
    if (d <= 0).any():
        j = _first(d <= 0)
        kind = "repeats" if d[j] == 0 else "is earlier than"
        problems.append(
            (int(rows[j + 1]), f"timestamp {kind} the one before it (for {show(s.symbol)})")
        )
    for name in PRICE_COLUMNS:
        col = getattr(s, name)
        if (col <= 0).any():
            j = _first(col <= 0)
            problems.append((int(rows[j]), f"{name} {_rupees(col[j])} is not positive"))
    if (s.high < s.low).any():
        j = _first(s.high < s.low)
        problems.append(
            (int(rows[j]), f"high {_rupees(s.high[j])} is below low {_rupees(s.low[j])}")
        )
    for name in ("close", "open"):
        col = getattr(s, name)
        out = (col < s.low) | (col > s.high)
        if out.any():
            j = _first(out)
            problems.append(
                (
                    int(rows[j]),
                    f"{name} {_rupees(col[j])} is outside "
                    f"[low {_rupees(s.low[j])}, high {_rupees(s.high[j])}]",
                )
            )
    if (s.volume < 0).any():
        j = _first(s.volume < 0)
        problems.append((int(rows[j]), f"volume {int(s.volume[j])} is negative"))
    if calendar is not None:
        off = first_off_session(s.ts_ns, calendar)
        if off is not None:
            j, why = off
            problems.append((int(rows[j]), f"bar at {why}; --allow-off-session accepts it"))
    if problems:
        # the earliest row; within a row the first check above (high < low before close outside)
        i, what = min(problems, key=lambda problem: problem[0])
        raise DataError(f"{p}, {_line(i)}: {what}")
