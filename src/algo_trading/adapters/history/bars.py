"""Bars from CSV or Parquet files: columns `timestamp` (with a UTC offset), `open`, `high`,
`low`, `close`, `volume`, and optionally `symbol`. Read with pyarrow, checked with numpy, and
refused with one line naming the file, the line and the problem.

Prices become integer paise exactly: text and decimal columns are parsed as decimals; a float
column (Parquet) is accepted only where every value is within a millionth of a paisa of a
whole paisa, i.e. where it was written from a two-decimal price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from algo_trading.domain.errors import DataError

__all__ = ["REQUIRED_COLUMNS", "BarSeries", "load_bars"]

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


def load_bars(path: str | Path, symbol: str | None = None) -> list[BarSeries]:
    """Load and check a file of bars. A file with a `symbol` column gives one series per
    symbol (or only `symbol`'s when named); otherwise the series is called `symbol`, or the
    file's stem."""
    try:
        return _load(Path(path), symbol)
    finally:
        # The parsed table is garbage now; hand its memory back so a long backtest that
        # follows does not carry it (about 150 MB per million rows).
        pa.default_memory_pool().release_unused()


def _load(p: Path, symbol: str | None) -> list[BarSeries]:
    table = _read_table(p)
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
                raise DataError(
                    f"{p}: symbol {symbol!r} is not in the file (it has {', '.join(names[:10])})"
                )
            names = [symbol]
        out = []
        for name in names:
            rows = np.flatnonzero(symbols == name)
            out.append(_series(p, name, rows, ts, prices, volume))
        return out
    rows = np.arange(table.num_rows)
    return [_series(p, symbol or p.stem, rows, ts, prices, volume)]


_FAST_CSV_TYPES = {
    "timestamp": pa.timestamp("ns", "UTC"),
    **{c: pa.decimal128(18, 2) for c in PRICE_COLUMNS},
    "volume": pa.int64(),
    "symbol": pa.string(),
}


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
            try:
                return pacsv.read_csv(
                    p,
                    convert_options=pacsv.ConvertOptions(
                        # only an empty cell is missing: "nan" or "NA" must be named as written
                        column_types=_FAST_CSV_TYPES,
                        strings_can_be_null=False,
                        null_values=[""],
                    ),
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # read again as text below, to find and name the bad cell
            return pacsv.read_csv(
                p,
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in (*REQUIRED_COLUMNS, "symbol")},
                    strings_can_be_null=False,
                ),
            )
        if suffix in (".parquet", ".pq"):
            return pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # arrow quotes the offending bytes; a binary file must not put control codes on a terminal
        first = "".join(ch if ch.isprintable() else "?" for ch in first)[:200]
        raise DataError(f"{p}: cannot read it: {first}") from None
    raise DataError(f"{p}: unknown file type {suffix!r} (use .csv or .parquet)")


def _line(i: int) -> str:
    """Row index -> where a person finds it: line i + 2 of a CSV (the header is line 1)."""
    return f"row {i + 1} (line {i + 2})"


def _first_bad(values: list[object], ok: object) -> tuple[int, object]:
    for i, v in enumerate(values):
        try:
            if not ok(v):  # type: ignore[operator]
                return i, v
        except (ValueError, TypeError, InvalidOperation, ArithmeticError):
            return i, v
    return -1, None


def _nulls(p: Path, name: str, col: pa.ChunkedArray) -> None:
    if col.null_count:
        i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{p}, {_line(i)}: {name} is empty")


def _timestamps(p: Path, col: pa.ChunkedArray) -> I64:
    _nulls(p, "timestamp", col)
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            raise DataError(
                f"{p}: timestamp column has no UTC offset (time zone); "
                "write timestamps like 2025-01-02T09:15:00+05:30"
            )
        return _i64(col.cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_numpy())
    if not pa.types.is_string(t) and not pa.types.is_large_string(t):
        raise DataError(f"{p}: timestamp column has type {t}; use ISO 8601 text with an offset")
    try:
        return _i64(pc.cast(col, pa.timestamp("ns", "UTC")).cast(pa.int64()).to_numpy())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = col.to_pylist()

    def parses(v: object) -> bool:
        pc.cast(pa.array([v]), pa.timestamp("ns", "UTC"))
        return True

    i, v = _first_bad(values, parses)
    text = str(v)
    if i >= 0 and ("+" in text[10:] or "-" in text[10:] or text.endswith("Z")):
        raise DataError(f"{p}, {_line(i)}: timestamp {v!r} is not a valid date and time")
    raise DataError(
        f"{p}, {_line(max(i, 0))}: timestamp {v!r} is not an ISO 8601 time with a "
        "UTC offset (like 2025-01-02T09:15:00+05:30)"
    )


def _paise(p: Path, name: str, col: pa.ChunkedArray) -> I64:
    _nulls(p, name, col)
    t = col.type
    if pa.types.is_floating(t):
        raw = col.to_numpy()
        x = raw * 100.0
        bad = ~np.isfinite(x)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{p}, {_line(i)}: {name} is {float(raw[i])!r}, not a number")
        r = np.rint(x)
        off = np.abs(x - r) > 1e-6
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise DataError(f"{p}, {_line(i)}: {name} {float(raw[i])!r} is finer than one paisa")
        return _i64(r)
    if pa.types.is_integer(t):
        return _i64(col.cast(pa.int64()).to_numpy()) * 100
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_decimal(t)):
        raise DataError(f"{p}: column {name} has type {t}; prices must be numbers")
    if pa.types.is_decimal(t):
        fast = _decimal_paise(col)
        if fast is not None:
            return fast
    try:
        d = pc.cast(col, pa.decimal128(24, 6)) if not pa.types.is_decimal(t) else col
        paise = pc.multiply(d, pa.scalar(Decimal(100), pa.decimal128(5, 0)))
        return _i64(pc.cast(paise, pa.int64()).to_numpy())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = col.to_pylist()

    def exact(v: object) -> bool:
        d = Decimal(str(v).strip())
        return d.is_finite() and (d * 100) == (d * 100).to_integral_value()

    i, v = _first_bad(values, lambda v: Decimal(str(v).strip()).is_finite())
    if i >= 0:
        raise DataError(f"{p}, {_line(i)}: {name} {str(v)!r} is not a number")
    i, v = _first_bad(values, exact)
    if i >= 0:
        raise DataError(f"{p}, {_line(i)}: {name} {str(v)!r} is finer than one paisa")
    i, v = _first_bad(values, lambda v: abs(Decimal(str(v).strip()) * 100) < 2**63)
    raise DataError(f"{p}, {_line(max(i, 0))}: {name} {str(v)!r} is out of range")


def _decimal_paise(col: pa.ChunkedArray) -> I64 | None:
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


def _volume(p: Path, col: pa.ChunkedArray) -> I64:
    _nulls(p, "volume", col)
    t = col.type
    if pa.types.is_integer(t):
        return _i64(col.cast(pa.int64()).to_numpy())
    if pa.types.is_floating(t):
        x = col.to_numpy()
    else:
        try:
            x = pc.cast(col, pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = col.to_pylist()
            i, v = _first_bad(values, lambda v: float(str(v)) == float(str(v)))
            raise DataError(f"{p}, {_line(max(i, 0))}: volume {v!r} is not a number") from None
    bad = ~np.isfinite(x) | (x != np.rint(x))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{p}, {_line(i)}: volume {float(x[i])!r} is not a whole number")
    return _i64(x)


def _strings(p: Path, name: str, col: pa.ChunkedArray) -> npt.NDArray[np.str_]:
    _nulls(p, name, col)
    text = col.cast(pa.string())
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    if pc.any(blank).as_py():  # CSV cells are read with empty text kept, not as nulls
        i = _first(blank.to_numpy(zero_copy_only=False))
        raise DataError(f"{p}, {_line(i)}: {name} is empty")
    return np.asarray(text.to_pylist())


def _series(
    p: Path, symbol: str, rows: npt.NDArray[np.intp], ts: I64, prices: dict[str, I64], volume: I64
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
    _check(p, s, rows)
    return s


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _rupees(paise: int) -> str:
    return f"{Decimal(int(paise)).scaleb(-2)}"


def _check(p: Path, s: BarSeries, rows: npt.NDArray[np.intp]) -> None:
    """The first problem in file order, named with its line."""
    problems: list[tuple[int, str]] = []
    d = np.diff(s.ts_ns)
    if (d <= 0).any():
        j = _first(d <= 0)
        kind = "repeats" if d[j] == 0 else "is earlier than"
        problems.append((int(rows[j + 1]), f"timestamp {kind} the one before it (for {s.symbol})"))
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
    if problems:
        # the earliest row; within a row the first check above (high < low before close outside)
        i, what = min(problems, key=lambda problem: problem[0])
        raise DataError(f"{p}, {_line(i)}: {what}")
