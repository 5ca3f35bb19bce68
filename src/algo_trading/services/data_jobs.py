"""What the data service's scheduled jobs do (`data_schedule` says when). Each is idempotent:
run twice for one day, it leaves the same objects (same keys, same bytes)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.live.ticks import CANDLE_SCHEMA, read_ticks
from algo_trading.adapters.objectstore.layout import (
    archived_log_key,
    check_key,
    live_day_prefix,
    live_key,
)
from algo_trading.domain.events import IST
from algo_trading.engine.ports import Cache, CacheKind, ObjectStore

__all__ = [
    "INSTRUMENT_MASTER_CACHE_KEY",
    "HistoryTopUp",
    "archive_day",
    "history_topup",
    "instrument_master",
    "instrument_master_key",
]

INSTRUMENT_MASTER_CACHE_KEY = "angelone:scrip-master"


class HistoryTopUp(Protocol):
    """The history store's daily top-up: fetch `day`'s candles for the stored symbols; returns
    what it did. Wired to the history helper's fetch once `adapters/history`'s store is in."""

    def __call__(self, day: dt.date) -> str: ...


def instrument_master_key(day: dt.date) -> str:
    return check_key(f"market-data/instruments/{day:%Y/%m/%d}/scrip-master.json")


def instrument_master(
    fetch: Callable[[], bytes], store: ObjectStore, cache: Cache
) -> Callable[[dt.date], str]:
    """Download the scrip master, check it parses, keep the day's copy and cache it."""

    def run(day: dt.date) -> str:
        raw = fetch()
        master = parse_scrip_master_bytes(raw)  # a broken download fails here, stored nowhere
        info = store.put(instrument_master_key(day), raw, content_type="application/json")
        cache.put(CacheKind.INSTRUMENTS, INSTRUMENT_MASTER_CACHE_KEY, raw)
        return f"{len(master)} instruments, {info.size} bytes, sha256 {info.sha256[:12]}"

    return run


def history_topup(hook: HistoryTopUp | None) -> Callable[[dt.date], str]:
    def run(day: dt.date) -> str:
        if hook is None:
            return "skipped: no history store wired (services.data_jobs.HistoryTopUp)"
        return hook(day)

    return run


def archive_day(store: ObjectStore, logs_dir: Path) -> Callable[[dt.date], str]:
    """The day's logs to logs/archived/YYYY/MM/DD/<file>.gz (every file in the log folder
    last written that IST day), and the day's tick files compacted into day-ticks.parquet
    (checked: as many rows as the parts). The parts stay: they are the capture's record."""

    def run(day: dt.date) -> str:
        logs = _archive_logs(store, logs_dir, day)
        ticks = _compact_ticks(store, day)
        return f"{logs} log files archived; {ticks} ticks compacted"

    return run


def _archive_logs(store: ObjectStore, folder: Path, day: dt.date) -> int:
    if not folder.is_dir():
        return 0
    done = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).astimezone(IST)
        if written.date() != day:
            continue
        data = gzip.compress(path.read_bytes(), mtime=0)  # mtime 0: the same bytes every run
        store.put(archived_log_key(day, f"{path.name}.gz"), data, content_type="application/gzip")
        done += 1
    return done


def _compact_ticks(store: ObjectStore, day: dt.date) -> int:
    ticks = read_ticks(store, (day.year, day.month, day.day))
    if ticks.num_rows == 0:
        return 0
    ticks = ticks.sort_by([("recv_ts_ns", "ascending"), ("token", "ascending")])
    store.put(live_key(day, "day-ticks.parquet"), _parquet(ticks))
    prefix = live_day_prefix(day)
    parts = [
        pq.read_table(io.BytesIO(store.get(k)))
        for k in store.list(prefix)
        if k[len(prefix) :].startswith("candles-")
    ]
    if parts:
        candles = pa.concat_tables(parts).cast(CANDLE_SCHEMA)
        store.put(live_key(day, "day-candles.parquet"), _parquet(candles))
    return int(ticks.num_rows)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
