"""`data import`: a CSV of candles in the shapes brokers export, read into `BarSeries` with the
hardened loader's checks (issue #11, item 2).

Shapes accepted, column names in any case and with spaces or underscores:
* a time column named `timestamp`, `datetime`, `date_time`, `date`, or `time`; or two columns
  `date` and `time`, joined;
* `open`, `high`, `low`, `close` and `volume` (or `vol`); an optional `symbol`
  (`tradingsymbol`, `ticker`); any other column (`oi`, `adj close`) is ignored.
Times carry a UTC offset (`2025-01-02T09:15:00+05:30`), or none with `tz` naming the zone they
are in (`Asia/Kolkata`); without an offset they may be written `YYYY-MM-DD HH:MM[:SS]`,
`DD-MM-YYYY HH:MM[:SS]`, `DD/MM/YYYY HH:MM[:SS]`, or as a bare date (a daily candle, 00:00).
Anything else is refused with one line naming the file and what it lacks.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from algo_trading.adapters.history.bars import BarSeries, series_of_table
from algo_trading.adapters.history.numbers import show
from algo_trading.domain.errors import ConfigError, DataError
from algo_trading.market.calendar import TradingCalendar

__all__ = ["import_csv"]

_TIME_NAMES = ("timestamp", "datetime", "date_time", "date", "time")
_ALIASES = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
    "symbol": ("symbol", "tradingsymbol", "trading_symbol", "ticker"),
}
_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d/%m/%Y",
)


def _norm(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _header(p: Path, data: bytes) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    return next(csv.reader([first]), [])


def import_csv(
    path: str | Path,
    *,
    symbol: str | None,
    tz: str | None,
    calendar: TradingCalendar | None,
) -> list[BarSeries]:
    """Read `path` in any accepted shape; one series per symbol (see `load_bars`)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    zone = _zone(tz)
    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte-order mark, as spreadsheet programs write
    names = _header(p, data)
    normal = [_norm(n) for n in names]
    where = {n: i for i, n in reversed(list(enumerate(normal)))}  # first column of each name
    time_cols = _time_columns(where)
    picked = {c: next((where[a] for a in al if a in where), None) for c, al in _ALIASES.items()}
    missing = [c for c in ("open", "high", "low", "close", "volume") if picked[c] is None]
    if time_cols is None or missing:
        need = "a date/datetime/timestamp column" if time_cols is None else ""
        need += (" and " if need and missing else "") + ", ".join(missing)
        shown = ", ".join(show(n, 20) for n in names[:12]) or "none"
        raise DataError(
            f"{p}: unknown CSV shape: columns {shown}; it lacks {need} "
            "(names in any case: timestamp or date [and time], open, high, low, close, volume)"
        )
    table = _read_text(p, data, len(names))
    cols: dict[str, pa.ChunkedArray] = {}
    cols["timestamp"] = _times(p, table, time_cols, zone)
    for c, i in picked.items():
        if i is not None:
            cols[c] = table.column(i)
    return series_of_table(p, pa.table(cols), symbol, calendar)


def _zone(tz: str | None) -> str | None:
    if tz is None:
        return None
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {tz!r} is not a time zone name (like Asia/Kolkata)") from None
    return tz


def _time_columns(where: dict[str, int]) -> tuple[int, ...] | None:
    if "date" in where and "time" in where:
        return (where["date"], where["time"])
    for name in _TIME_NAMES:
        if name in where:
            return (where[name],)
    return None


def _read_text(p: Path, data: bytes, width: int) -> pa.Table:
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                skip_rows=1, column_names=[f"c{i}" for i in range(width)]
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{p}: cannot read it as CSV: {show(text, 200)}") from None


def _times(p: Path, table: pa.Table, cols: tuple[int, ...], zone: str | None) -> pa.ChunkedArray:
    text = table.column(cols[0])
    if len(cols) == 2:
        text = pc.binary_join_element_wise(text, table.column(cols[1]), " ")
    text = pc.utf8_trim_whitespace(text)
    if table.num_rows == 0:
        return text
    naive = _parse_naive(text)
    if naive is None:
        return text  # with offsets (or wrong): the loader reads them or names the bad row
    if zone is None:
        raise DataError(
            f"{p}: times have no UTC offset (first: {show(text[0].as_py())}); "
            "give --tz Asia/Kolkata if they are IST"
        )
    try:
        return pc.assume_timezone(naive, zone).cast(pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{p}: times cannot be placed in {zone}: {show(str(exc), 120)}") from None


def _parse_naive(text: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column as naive times in the first format every cell matches, else None."""
    for fmt in _NAIVE_FORMATS:
        parsed = pc.strptime(text, format=fmt, unit="ns", error_is_null=True)
        if parsed.null_count == 0:
            return parsed
    return None
