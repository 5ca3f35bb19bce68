"""Live store and cache speed (issue #11), each beside the plain way in the same run:

* ticks per second appended to the live store: the capture's own path (`LiveCapture.on_packet`:
  buffer, 1-minute candles, latest quote) with a Parquet flush to the local object store every
  --flush ticks, and the writer alone (`LiveTickWriter.append` + flush); beside it, the plain
  way: one `csv.writer.writerow` per tick to an open file. Target: >= 100,000 ticks/s.
* cache reads per second on Redis (ALGO_REDIS_URL or redis://127.0.0.1:6379/0; keys under a
  unique prefix, deleted at the end): `get_many` (one MGET per --batch keys) beside one GET per
  key, and the in-process cache for reference.

Tick rates are printed per wall second and per CPU second of this process: on a machine shared
with other work (the load average is printed) the wall figure says more about the neighbours
than the code, so the target is checked on the CPU figure; on an idle machine they agree.

Run: .venv/bin/python benchmarks/cache_and_capture.py [--ticks N] [--keys N] [--batch N]
Exits 1 when the tick target is missed.
"""

from __future__ import annotations

import argparse
import csv
import gc
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.cache import CacheTtl, MemoryCache
from algo_trading.adapters.live import LiveTickWriter, TickRow
from algo_trading.adapters.objectstore import LocalObjectStore
from algo_trading.engine.ports import Cache, CacheKind
from algo_trading.services.capture import CaptureTarget, LiveCapture

TICK_TARGET_PER_S = 100_000
T0_MS = 1_741_062_600_000  # 2025-03-04 10:00 IST


class Clock:
    """Moves 1 us a read. A C-level counter, as time.time_ns is in the service: a Python
    method here cost a tenth of the capture's whole path per tick, and measured the harness."""

    def __init__(self) -> None:
        self.now_ns = itertools.count(T0_MS * 1_000_000 + 1000, 1000).__next__


def _packets(n: int, symbols: int) -> list[FeedPacket]:
    return [
        FeedPacket(
            mode=Mode.QUOTE,
            exchange_type=1,
            token=str(1000 + i % symbols),
            sequence=i,
            exchange_ts_ms=T0_MS + i // 10,
            ltp_paise=100_000 + (i * 7919) % 500,
            last_traded_qty=1 + i % 50,
            volume=i,
        )
        for i in range(n)
    ]


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _timed2(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


Rates = tuple[float, float]  # (per wall second, per CPU second)


def bench_ticks(n: int, flush: int, symbols: int) -> tuple[Rates, Rates, Rates]:
    packets = _packets(n, symbols)
    # The harness's own input (a million packet objects built up front, where a feed makes
    # each one and drops it) is frozen out of the garbage collector: otherwise every full
    # collection during the timed runs walks it, and the figures measure the harness.
    gc.freeze()
    with tempfile.TemporaryDirectory() as folder:
        store = LocalObjectStore(Path(folder) / "objects")
        targets = [CaptureTarget(f"NSE:S{i}", 1, str(1000 + i)) for i in range(symbols)]
        capture = LiveCapture(
            targets, LiveTickWriter(store), MemoryCache(), Clock(), flush_ticks=flush
        )

        def through_capture() -> None:
            on_packet, turn = capture.on_packet, capture.run_once
            for i, p in enumerate(packets):
                on_packet(p)
                if (i + 1) % flush == 0:
                    turn()  # the capture loop's turn: hand over, publish, flush
            capture.stop()

        capture_s = _timed2(through_capture)
        if capture.writer.flushed_ticks != n:
            raise SystemExit(f"capture wrote {capture.writer.flushed_ticks:,} of {n:,} ticks")

        writer = LiveTickWriter(LocalObjectStore(Path(folder) / "objects2"))
        rows = [
            TickRow(
                T0_MS * 1_000_000 + i,
                p.exchange_ts_ms,
                1,
                p.token,
                "NSE:S",
                p.sequence,
                p.ltp_paise,
                p.last_traded_qty,
                p.volume,
            )
            for i, p in enumerate(packets)
        ]

        def writer_only() -> None:
            append = writer.append
            for i, row in enumerate(rows):
                append(row)
                if (i + 1) % flush == 0:
                    writer.flush()
            writer.flush()

        writer_s = _timed2(writer_only)

        def plain_csv() -> None:
            with open(Path(folder) / "ticks.csv", "w", newline="") as fh:
                out = csv.writer(fh)
                for p in packets:
                    out.writerow(
                        (
                            p.exchange_ts_ms,
                            p.token,
                            p.sequence,
                            p.ltp_paise,
                            p.last_traded_qty,
                            p.volume,
                        )
                    )

        csv_s = _timed2(plain_csv)
    return (
        (n / capture_s[0], n / capture_s[1]),
        (n / writer_s[0], n / writer_s[1]),
        (n / csv_s[0], n / csv_s[1]),
    )


def bench_cache(url: str, keys: int, batch: int) -> tuple[float, float, float] | str:
    from algo_trading.adapters.cache.redis import RedisCache

    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    cache = RedisCache(url, CacheTtl(quote_s=600), prefix=prefix, timeout_s=2.0)
    try:
        cache.check()
    except Exception as exc:  # no Redis: say so, the tick figures still stand
        return f"skipped ({exc})"
    names = [f"NSE:S{i}" for i in range(keys)]
    values = dict.fromkeys(names, b'{"ltp_paise":100000,"exchange_ts_ms":1741062600000}')
    try:
        for i in range(0, keys, batch):
            cache.put_many(CacheKind.QUOTE, {k: values[k] for k in names[i : i + batch]})

        def batched(c: Cache) -> Callable[[], None]:
            def run() -> None:
                for i in range(0, keys, batch):
                    if c.get_many(CacheKind.QUOTE, names[i : i + batch])[0] is None:
                        raise SystemExit("a cached quote went missing")

            return run

        def one_by_one() -> None:
            get = cache.get
            for k in names:
                if get(CacheKind.QUOTE, k) is None:
                    raise SystemExit("a cached quote went missing")

        mget = keys / _timed(batched(cache))
        single = keys / _timed(one_by_one)
        memory = MemoryCache()
        memory.put_many(CacheKind.QUOTE, values)
        mem = keys / _timed(batched(memory))
        return mget, single, mem
    finally:
        import redis

        raw = redis.Redis.from_url(url)
        for key in raw.scan_iter(match=f"{prefix}*", count=1000):
            raw.delete(key)
        raw.close()
        cache.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1_000_000)
    ap.add_argument("--flush", type=int, default=100_000, help="ticks per Parquet file")
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--keys", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args(argv)
    url = os.environ.get("ALGO_REDIS_URL") or "redis://127.0.0.1:6379/0"
    print(
        f"cache_and_capture: {args.ticks:,} ticks over {args.symbols} symbols, "
        f"{args.keys:,} cache keys, load average {os.getloadavg()[0]:.1f}"
    )
    capture, writer, plain = bench_ticks(args.ticks, args.flush, args.symbols)
    ok = capture[1] >= TICK_TARGET_PER_S
    print("  ticks appended (per wall second / per CPU second of this process)")
    print(
        f"    capture.on_packet + flush  {capture[0]:>10,.0f}/s  {capture[1]:>10,.0f}/s  target "
        f">= {TICK_TARGET_PER_S:,} per CPU second: {'OK' if ok else 'MISSED'}"
    )
    print(f"    writer.append + flush      {writer[0]:>10,.0f}/s  {writer[1]:>10,.0f}/s")
    print(f"    plain csv.writerow (peer)  {plain[0]:>10,.0f}/s  {plain[1]:>10,.0f}/s")
    result = bench_cache(url, args.keys, args.batch)
    if isinstance(result, str):
        print(f"  cache reads on Redis: {result}")
    else:
        mget, single, mem = result
        print(f"  cache reads     Redis get_many (MGET x{args.batch}) {mget:>10,.0f}/s")
        print(
            f"  cache reads     Redis one GET per key     {single:>10,.0f}/s  (peer); "
            f"batch is {mget / single:,.1f}x"
        )
        print(f"  cache reads     in-process get_many       {mem:>10,.0f}/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
