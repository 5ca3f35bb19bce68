"""The history store: candles as Parquet files, one per exchange, symbol, interval and year
(issue #11, item 2), implementing `engine.ports.MarketDataStore[BarSeries]`.

Layout under the root (the object store's `market-data/historical/` prefix):

    exchange=NSE/symbol=SBIN-EQ/interval=ONE_MINUTE/year=2025/bars.parquet
    exchange=NSE/symbol=SBIN-EQ/interval=ONE_MINUTE/fetched.json

Columns: `ts` (timestamp[ns, UTC], the candle's start), `open_paise`, `high_paise`,
`low_paise`, `close_paise`, `volume`, all int64: names carry the unit, so no reader can take
paise for rupees. The year is the IST year of the candle's start (the exchange's calendar).

Rules, chosen here:
* a write merges with what is stored: one row per start time, the newer values win (a broker's
  correction replaces the old candle); a write that changes nothing rewrites nothing;
* every file is written to a temporary name in its folder, flushed to disk and renamed over the
  old one, so a reader (or a process killed mid-write) never sees half a file;
* writers of one series take an exclusive lock on its folder, so two fetches cannot lose each
  other's candles; readers take none (the rename makes them safe);
* the same bars give the same bytes: a file depends only on its rows (no write time inside).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from algo_trading.adapters.history.bars import I64, BarSeries
from algo_trading.domain.errors import DataError
from algo_trading.engine.ports import BarKey, StoredSeries

__all__ = ["BAR_FILE", "ParquetBarStore", "merge_spans", "subtract_spans", "year_of_ns"]

BAR_FILE = "bars.parquet"
FETCHED_FILE = "fetched.json"
_COLUMNS = ("ts", "open_paise", "high_paise", "low_paise", "close_paise", "volume")
_SCHEMA = pa.schema(
    [pa.field("ts", pa.timestamp("ns", "UTC"), nullable=False)]
    + [pa.field(c, pa.int64(), nullable=False) for c in _COLUMNS[1:]]
)
# Delta encoding for every column: start times a minute apart and prices a few ticks apart
# pack into a few bits each, and decode fastest of the encodings measured (benchmarks/
# data_store.py: about 3 ms per symbol-year of minutes, a third the size of plain+zstd);
# compression on top saved a quarter of the bytes for a third more decoding time.
_ENCODING = dict.fromkeys(_COLUMNS, "DELTA_BINARY_PACKED")
_IST_NS = 19_800 * 10**9
_NS_PER_DAY = 86_400 * 10**9
_TMP_PREFIX = ".tmp-"


def year_of_ns(ts_ns: I64) -> I64:
    """The IST calendar year of each epoch-ns start time (vectorised, exact)."""
    days = (ts_ns + _IST_NS) // _NS_PER_DAY
    return np.asarray(days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)


def _part(name: str, value: str) -> str:
    # Percent-encode everything but letters, digits, - _ and &: no symbol can name `..`, a
    # slash or a character some file system refuses.
    return f"{name}={quote(value, safe='-_&')}"


def _check_key(key: BarKey) -> None:
    for what, value in (("exchange", key.exchange), ("symbol", key.symbol)):
        if not value or not value.isprintable() or value != value.strip():
            raise DataError(f"history store: {what} {value!r} is empty or not printable text")
    if not key.interval.replace("_", "").isalpha() or not key.interval.isupper():
        raise DataError(f"history store: interval {key.interval!r} is not a name like ONE_MINUTE")


class ParquetBarStore:
    """Candles in Parquet under `root` (see the module's docstring for the layout and rules)."""

    def __init__(self, root: str | Path, *, compression: str = "none") -> None:
        self.root = Path(root)
        self._compression = compression

    # --- where things are ---------------------------------------------------------------

    def folder(self, key: BarKey) -> Path:
        _check_key(key)
        return (
            self.root
            / _part("exchange", key.exchange)
            / _part("symbol", key.symbol)
            / _part("interval", key.interval)
        )

    def path(self, key: BarKey, year: int) -> Path:
        return self.folder(key) / f"year={year:04d}" / BAR_FILE

    def years(self, key: BarKey) -> list[int]:
        folder = self.folder(key)
        if not folder.is_dir():
            return []
        out = []
        for child in folder.iterdir():
            name = child.name
            if name.startswith("year=") and name[5:].isdigit() and (child / BAR_FILE).is_file():
                out.append(int(name[5:]))
        return sorted(out)

    # --- writing -------------------------------------------------------------------------

    def write(self, key: BarKey, bars: BarSeries) -> int:
        """Merge `bars` into the key's files (one per IST year); the number of new start times."""
        if not len(bars):
            return 0
        years = year_of_ns(bars.ts_ns)
        added = 0
        with self._locked(key):
            for year in np.unique(years).tolist():
                rows = np.flatnonzero(years == year)
                added += self._merge_year(key, int(year), _take(bars, rows))
        return added

    def _merge_year(self, key: BarKey, year: int, new: BarSeries) -> int:
        path = self.path(key, year)
        old = self._read_file(path, key.symbol) if path.is_file() else None
        cols_new = _columns(new)
        if old is None:
            merged = _dedupe(cols_new)
            before = 0
        else:
            cols_old = _columns(old)
            # new rows first: np.unique keeps each start time's first occurrence (newer wins)
            merged = _dedupe(
                [np.concatenate([a, b]) for a, b in zip(cols_new, cols_old, strict=True)]
            )
            before = len(old)
            if len(merged[0]) == before and all(
                np.array_equal(m, o) for m, o in zip(merged, cols_old, strict=True)
            ):
                return 0  # nothing new: keep the file as it is
        self._write_file(path, merged, key, year)
        return len(merged[0]) - before

    def _write_file(self, path: Path, cols: list[I64], key: BarKey, year: int) -> None:
        arrays = [pa.array(cols[0], pa.int64()).cast(pa.timestamp("ns", "UTC"))]
        arrays += [pa.array(c, pa.int64()) for c in cols[1:]]
        meta = {
            "exchange": key.exchange,
            "symbol": key.symbol,
            "interval": key.interval,
            "year": year,
            "prices": "integer paise",
        }
        schema = _SCHEMA.with_metadata({"algo_trading": json.dumps(meta, sort_keys=True)})
        table = pa.Table.from_arrays(arrays, schema=schema)
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            pq.write_table(
                table,
                tmp,
                compression=self._compression,
                use_dictionary=False,
                column_encoding=_ENCODING,
                write_statistics=True,
            )

        _atomic(path, write)

    @contextlib.contextmanager
    def _locked(self, key: BarKey) -> Iterator[None]:
        folder = self.folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                _sweep_temporaries(folder)  # left by a writer killed mid-write; we hold the lock
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- reading -------------------------------------------------------------------------

    def read(
        self, key: BarKey, start_ns: int | None = None, end_ns: int | None = None
    ) -> BarSeries:
        """Bars with start in [start_ns, end_ns) in time order; DataError when none is stored."""
        years = self.years(key)
        if not years:
            raise DataError(f"history store {self.root}: nothing stored for {key}")
        if start_ns is not None:
            first = int(year_of_ns(np.asarray([start_ns], dtype=np.int64))[0])
            years = [y for y in years if y >= first]
        if end_ns is not None:
            last = int(year_of_ns(np.asarray([end_ns - 1], dtype=np.int64))[0])
            years = [y for y in years if y <= last]
        parts = [self._read_file(self.path(key, y), key.symbol) for y in years]
        if not parts:
            return _empty(key.symbol)
        if len(parts) == 1:
            cols = _columns(parts[0])
        else:
            cols = [np.concatenate(c) for c in zip(*(_columns(p) for p in parts), strict=True)]
        lo = 0 if start_ns is None else int(np.searchsorted(cols[0], start_ns, side="left"))
        hi = len(cols[0]) if end_ns is None else int(np.searchsorted(cols[0], end_ns, side="left"))
        if lo or hi != len(cols[0]):
            cols = [c[lo:hi] for c in cols]
        return BarSeries(key.symbol, *cols)

    def read_raw(self, key: BarKey, year: int) -> BarSeries:
        """One year's file as it is on disk (no merge, no range): what `validate` inspects."""
        return self._read_file(self.path(key, year), key.symbol)

    def _read_file(self, path: Path, symbol: str) -> BarSeries:
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read it ({_first_line(exc)}); {_REMEDY}") from None
        if table.schema.remove_metadata() != _SCHEMA:
            got = ", ".join(f"{f.name}:{f.type}" for f in table.schema)
            raise DataError(f"{path}: not a history-store file (columns {got}); {_REMEDY}")
        cols = [table.column(0).cast(pa.int64())] + [table.column(i) for i in range(1, 6)]
        arrays = [_i64_of(c) for c in cols]
        return BarSeries(symbol, *arrays)

    def series(self) -> list[StoredSeries]:
        out = []
        for key in self.stored_keys():
            years = self.years(key)
            if not years:
                continue
            firsts, lasts, total = [], [], 0
            for year in years:
                ts = self._read_ts(self.path(key, year))
                if len(ts):
                    firsts.append(int(ts[0]))
                    lasts.append(int(ts[-1]))
                    total += len(ts)
            if not total:
                continue
            out.append(
                StoredSeries(
                    key, min(firsts), max(lasts), total, tuple(years), tuple(self.fetched(key))
                )
            )
        return out

    def _read_ts(self, path: Path) -> I64:
        try:
            col = pq.read_table(path, columns=["ts"]).column(0)
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise DataError(f"{path}: cannot read it ({_first_line(exc)}); {_REMEDY}") from None
        return _i64_of(col.cast(pa.int64()))

    def stored_keys(self) -> list[BarKey]:
        """Every key with a folder in the store, sorted."""
        out: list[BarKey] = []
        if not self.root.is_dir():
            return out
        for ex in _children(self.root, "exchange"):
            for sym in _children(ex, "symbol"):
                for itv in _children(sym, "interval"):
                    out.append(BarKey(_value(ex), _value(sym), _value(itv)))
        return sorted(out)

    # --- what a fetch has done -----------------------------------------------------------

    def fetched(self, key: BarKey) -> list[tuple[int, int]]:
        path = self.folder(key) / FETCHED_FILE
        if not path.is_file():
            return []
        try:
            spans = json.loads(path.read_text(encoding="utf-8"))["fetched"]
            return [(int(a), int(b)) for a, b in spans]
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise DataError(
                f"{path}: cannot read it ({_first_line(exc)}); delete it to fetch the series again"
            ) from None

    def mark_fetched(self, key: BarKey, start_ns: int, end_ns: int) -> None:
        if end_ns <= start_ns:
            return
        with self._locked(key):
            spans = merge_spans([*self.fetched(key), (start_ns, end_ns)])
            text = json.dumps({"fetched": [list(s) for s in spans]}, separators=(",", ":"))
            _atomic(self.folder(key) / FETCHED_FILE, lambda tmp: tmp.write_text(text, "utf-8"))


_REMEDY = "delete it and fetch or import that year again"


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open spans sorted and merged where they touch or overlap."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract_spans(want: tuple[int, int], have: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of half-open `want` not covered by `have`."""
    start, end = want
    out = []
    for a, b in merge_spans(have):
        if b <= start or a >= end:
            continue
        if a > start:
            out.append((start, a))
        start = max(start, b)
    if start < end:
        out.append((start, end))
    return out


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through `write(tmp)` to a temporary file beside `path`, flush it to disk, rename
    it over `path` and flush the folder: all or nothing, even across a power cut."""
    tmp = path.parent / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _sweep_temporaries(folder: Path) -> None:
    for tmp in folder.rglob(f"{_TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _children(folder: Path, name: str) -> list[Path]:
    return sorted(c for c in folder.iterdir() if c.is_dir() and c.name.startswith(f"{name}="))


def _value(folder: Path) -> str:
    return unquote(folder.name.partition("=")[2])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


def _i64_of(col: pa.ChunkedArray) -> I64:
    if col.num_chunks == 1:
        return np.asarray(col.chunk(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(col.to_numpy(), dtype=np.int64)


def _columns(s: BarSeries) -> list[I64]:
    return [s.ts_ns, s.open, s.high, s.low, s.close, s.volume]


def _take(s: BarSeries, rows: npt.NDArray[np.intp]) -> BarSeries:
    if len(rows) == len(s):
        return s
    return BarSeries(s.symbol, *(c[rows] for c in _columns(s)))


def _dedupe(cols: list[I64]) -> list[I64]:
    """Sorted by start time, one row per start time (its first occurrence)."""
    ts = cols[0]
    if len(ts) and (np.diff(ts) > 0).all():
        return cols
    _, first = np.unique(ts, return_index=True)
    return [c[first] for c in cols]


def _empty(symbol: str) -> BarSeries:
    e = np.zeros(0, dtype=np.int64)
    return BarSeries(symbol, e, e, e, e, e, e)
