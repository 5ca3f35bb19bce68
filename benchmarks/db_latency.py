"""Database latency: the costs the trading path pays for writing things down (issue #4).

Prints, for the local PostgreSQL and for SQLite, each in a fresh schema or file:
* p50 and p99 of committing an order intent: `SqlTradeLog.record_order(order, SUBMIT)`,
  the call the order manager makes before the broker call (insert the order and its first
  event, commit);
* p50 and p99 of recording a fill: `SqlTradeLog.record_fill` (the position under its row
  lock, the trade, the order's totals, status and event, commit);
* rows per second of writing a 100,000-trade backtest result (`add_backtest_trades`, then
  commit): COPY on PostgreSQL, one prepared INSERT over every row on SQLite.

Targets: p99 intent commit under 5 ms on local PostgreSQL; bulk write at least 50,000 rows
per second. Every commit is durable (PostgreSQL's fsync and synchronous_commit as the server
has them; SQLite in WAL mode with synchronous=FULL), so the figures include the disk.

Run: .venv/bin/python benchmarks/db_latency.py [--samples N] [--bulk N] [--postgres URL]
Exits 1 when a figure misses its target; PostgreSQL is skipped (and said so) if unreachable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

import psycopg

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.domain import ClientOrderId, Fill, Order, OrderEvent, OrderSide, StrategyId
from algo_trading.domain.ids import TradeId

INTENT_P99_TARGET_MS = 5.0
BULK_TARGET_ROWS_S = 50_000
T0 = 1_700_000_000_000_000_000
_SYMBOLS = 20


@contextmanager
def _postgres(base: str) -> Iterator[str]:
    schema = f"algo_bench_{uuid.uuid4().hex[:10]}"
    conninfo = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[98] / 1e6


def _timed(calls: list[Callable[[], None]]) -> list[int]:
    out = []
    for call in calls:
        start = time.perf_counter_ns()
        call()
        out.append(time.perf_counter_ns() - start)
    return out


def _orders(n: int, run: str) -> list[Order]:
    """A trading day's shape: 20 symbols, each bought then sold in turn (positions open and
    close, as they do intraday), 10 units an order."""
    orders = []
    for i in range(n):
        side = OrderSide.BUY if (i // _SYMBOLS) % 2 == 0 else OrderSide.SELL
        symbol = f"BENCH{i % _SYMBOLS}-EQ"
        o = Order(ClientOrderId(f"{run}-{i}"), StrategyId("bench"), symbol, side, 10)
        o.apply(OrderEvent.SUBMIT, T0 + i)
        orders.append(o)
    return orders


def _fill(order: Order, i: int) -> Fill:
    return Fill(
        TradeId(f"{order.client_order_id}-t"),
        order.client_order_id,
        order.strategy_id,
        order.symbol,
        order.side,
        order.quantity,
        10_000 + 5 * (i % 200),
        T0 + i,
    )


def measure(url: str, samples: int, bulk: int) -> dict[str, float]:
    db = Database(url)
    try:
        upgrade(db)
        log = SqlTradeLog(db)
        warm = _orders(200, "warm")
        _timed([partial(log.record_order, o, OrderEvent.SUBMIT) for o in warm])
        _timed([partial(log.record_fill, _fill(o, i)) for i, o in enumerate(warm)])
        orders = _orders(samples, "run")
        intent = _timed([partial(log.record_order, o, OrderEvent.SUBMIT) for o in orders])
        fills = _timed([partial(log.record_fill, _fill(o, i)) for i, o in enumerate(orders)])
        trades = [(_fill(orders[i % samples], i), i % 997 - 400) for i in range(bulk)]
        start = time.perf_counter()
        with SqlUnitOfWork(db) as uow:
            uow.runs.start_backtest("bench-run", "bench", {}, T0)
            written = uow.runs.add_backtest_trades("bench-run", trades)
            uow.commit()
        seconds = time.perf_counter() - start
    finally:
        db.dispose()
    i50, i99 = _percentiles(intent)
    f50, f99 = _percentiles(fills)
    return {
        "intent_p50": i50,
        "intent_p99": i99,
        "fill_p50": f50,
        "fill_p99": f99,
        "bulk_rows_s": written / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    ok = True
    print(f"{args.samples:,} intents and fills, then a {args.bulk:,}-trade backtest result")
    targets: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
        ("postgresql", lambda: _postgres(args.postgres)),
        ("sqlite", _sqlite),
    ]
    for name, make in targets:
        try:
            with make() as url:
                r = measure(url, args.samples, args.bulk)
        except psycopg.OperationalError as exc:
            print(f"{name}: skipped, unreachable ({' '.join(str(exc).split())})")
            continue
        intent_ok = name != "postgresql" or r["intent_p99"] < INTENT_P99_TARGET_MS
        bulk_ok = r["bulk_rows_s"] >= BULK_TARGET_ROWS_S
        ok = ok and intent_ok and bulk_ok
        target = f" (target p99 < {INTENT_P99_TARGET_MS} ms)" if name == "postgresql" else ""
        print(f"{name}:")
        print(
            f"  intent commit  p50 {r['intent_p50']:6.2f} ms  p99 {r['intent_p99']:6.2f} ms"
            f"{target}{'' if intent_ok else '  MISSED'}"
        )
        print(f"  record fill    p50 {r['fill_p50']:6.2f} ms  p99 {r['fill_p99']:6.2f} ms")
        print(
            f"  bulk write     {r['bulk_rows_s']:,.0f} rows/s (target >= {BULK_TARGET_ROWS_S:,})"
            f"{'' if bulk_ok else '  MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
