"""Tick to order: the trading path's latency and the tick rate it keeps up with (issue #10).

What is measured, in one process, on the real engine (`TradingEngine`: strategy hook, risk
check, order manager, the durable intent, the broker call):

* latency: from a tick's arrival (the instant before `engine.on_tick(tick)`) to the broker
  call (the first line of the broker stub's `submit`), for ticks on which the strategy
  places an order. The trade log is `SqlTradeLog` on the local PostgreSQL (127.0.0.1:5432,
  database `test`, a fresh schema dropped after): the intent is committed, durably, before
  the broker hears of the order. The broker is a stub that takes the time and returns (no
  network: the broker's own round trip is not ours to measure); no throttle (the SEBI
  orders-per-second throttle holds orders on purpose and would measure the throttle).
* throughput: ticks on 200 instruments (10 strategies of 20 symbols each) fed on a fixed
  schedule at the target rate (50,000 ticks/s) for a few seconds; the engine takes each in
  turn, and a tick's lag is when it was taken minus when it was due. The engine keeps up when
  the lag stays bounded: the last second's p99 lag is printed beside the first second's.
  One order every 5,000 ticks (10 orders/s at the target, SEBI's threshold for an algo),
  each with its durable intent, rides along. Then the most it can take: ticks per second
  with no schedule at all (as fast as it goes).
* peers from the same run: the same latency with the in-memory trade log (what the durable
  intent costs), and the intent commit alone (`SqlTradeLog.record_order`).

Targets: p99 latency under 5 ms; at least 50,000 ticks/s without growing lag.

Run: .venv/bin/python benchmarks/tick_to_order.py [--orders N] [--seconds S] [--postgres URL]
Exits 1 when a figure misses its target, 2 when PostgreSQL is unreachable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, upgrade
from algo_trading.domain.events import Tick
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderEvent, OrderSide, OrderSnapshot
from algo_trading.engine.engine import MemoryTradeLog, TradingEngine
from algo_trading.engine.order_manager import SequentialIds
from algo_trading.engine.ports import ReportSink, TradeLog
from algo_trading.strategy.base import Strategy

P99_TARGET_MS = 5.0
TICKS_TARGET_S = 50_000
INSTRUMENTS = 200
STRATEGIES = 10
ORDER_EVERY_TICKS = 5_000
T0 = 1_700_000_000_000_000_000
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class StampingBroker:
    """Takes the time of each broker call; sends nothing anywhere."""

    def __init__(self) -> None:
        self.called_ns: list[int] = []

    def connect(self, sink: ReportSink) -> None:
        self._sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        self.called_ns.append(time.perf_counter_ns())

    def cancel(self, client_order_id: ClientOrderId) -> None:
        return None

    def modify(self, *args: Any, **kwargs: Any) -> None:
        return None


class Trader(Strategy):
    """Marks every tick; buys one share when told to (`arm`), on the next tick it sees."""

    name = "bench"

    def __init__(self, symbols: tuple[str, ...], strategy_id: str) -> None:
        super().__init__(symbols=symbols, strategy_id=strategy_id)
        self.armed = False
        self.last: dict[str, int] = {}

    def on_tick(self, tick: Tick) -> None:
        self.last[tick.symbol] = tick.ltp_paise
        if self.armed:
            self.armed = False
            self.buy(1, tick.symbol)


class Clock:
    def __init__(self) -> None:
        self.ts_ns = T0

    def now_ns(self) -> int:
        return self.ts_ns


def _symbols() -> list[str]:
    return [f"SYM{i:03d}-EQ" for i in range(INSTRUMENTS)]


def _engine(log: TradeLog) -> tuple[TradingEngine, StampingBroker, list[Trader], Clock]:
    clock, broker = Clock(), StampingBroker()
    ids = SequentialIds(f"B{uuid.uuid4().hex[:6]}")  # every engine of the run its own ids
    engine = TradingEngine(clock, broker, starting_cash_paise=10**15, trade_log=log, ids=ids)
    symbols = _symbols()
    per = INSTRUMENTS // STRATEGIES
    traders = [
        Trader(tuple(symbols[i * per : (i + 1) * per]), f"bench{i}") for i in range(STRATEGIES)
    ]
    for t in traders:
        engine.add_strategy(t)
    engine.start()
    return engine, broker, traders, clock


def _ticks(n: int) -> Iterator[Tick]:
    symbols = _symbols()
    for i in range(n):
        yield Tick(symbols[i % INSTRUMENTS], T0 + i * 1000, 100_000 + (i % 37) * 5)


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[98] / 1e6


def latency(log: TradeLog, orders: int) -> tuple[float, float]:
    """p50, p99 (ms) from a tick's arrival to the broker call, over `orders` orders."""
    engine, broker, traders, clock = _engine(log)
    ticks = _ticks(orders * INSTRUMENTS)
    samples = []
    for n in range(orders):
        for _ in range(INSTRUMENTS - 1):  # the books move between orders
            tick = next(ticks)
            clock.ts_ns = tick.ts_ns
            engine.on_tick(tick)
        tick = next(ticks)
        owner = traders[(INSTRUMENTS - 1) // (INSTRUMENTS // STRATEGIES)]
        owner.armed = True
        clock.ts_ns = tick.ts_ns
        calls = len(broker.called_ns)
        arrived = time.perf_counter_ns()
        engine.on_tick(tick)
        if len(broker.called_ns) != calls + 1:
            raise SystemExit(f"order {n}: the broker was not called (refused?)")
        samples.append(broker.called_ns[-1] - arrived)
    return _percentiles(samples)


def keeps_up(log: TradeLog, rate: int, seconds: float) -> tuple[float, float, int]:
    """Feed `rate` ticks/s on a schedule for `seconds`: (first second's p99 lag ms, last
    second's p99 lag ms, orders sent)."""
    engine, broker, traders, clock = _engine(log)
    total = int(rate * seconds)
    period_ns = 1_000_000_000 // rate
    lags: list[int] = []
    start = time.perf_counter_ns()
    for i, tick in enumerate(_ticks(total)):
        due = start + i * period_ns
        now = time.perf_counter_ns()
        while now < due:  # the feed has not sent this one yet
            now = time.perf_counter_ns()
        lags.append(now - due)
        if i % ORDER_EVERY_TICKS == ORDER_EVERY_TICKS - 1:
            traders[(i % INSTRUMENTS) // (INSTRUMENTS // STRATEGIES)].armed = True
        clock.ts_ns = tick.ts_ns
        engine.on_tick(tick)
    first, last = lags[:rate], lags[-rate:]
    return (
        _percentiles(first)[1],
        _percentiles(last)[1],
        len(broker.called_ns),
    )


def flat_out(log: TradeLog, seconds: float) -> float:
    """Ticks per second with no schedule: as fast as the engine takes them."""
    engine, _, traders, clock = _engine(log)
    ticks = _ticks(int(TICKS_TARGET_S * seconds * 4))
    n = 0
    start = time.perf_counter()
    for tick in ticks:
        if n % ORDER_EVERY_TICKS == ORDER_EVERY_TICKS - 1:
            traders[(n % INSTRUMENTS) // (INSTRUMENTS // STRATEGIES)].armed = True
        clock.ts_ns = tick.ts_ns
        engine.on_tick(tick)
        n += 1
        if n % 10_000 == 0 and time.perf_counter() - start > seconds:
            break
    return n / (time.perf_counter() - start)


def intent_alone(log: SqlTradeLog, n: int) -> tuple[float, float]:
    samples = []
    run = uuid.uuid4().hex[:8]
    for i in range(n):
        order = Order(
            ClientOrderId(f"I{run}{i:06d}"), StrategyId("alone"), "SYM000-EQ", OrderSide.BUY, 1
        )
        order.tag = f"a-{order.client_order_id}"
        order.apply(OrderEvent.SUBMIT, T0 + i)
        start = time.perf_counter_ns()
        log.record_order(order, OrderEvent.SUBMIT)
        samples.append(time.perf_counter_ns() - start)
    return _percentiles(samples)


@contextmanager
def _schema(base: str) -> Iterator[str]:
    schema = f"algo_bench_{uuid.uuid4().hex[:10]}"
    conninfo = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--orders", type=int, default=2000, help="orders timed for the latency")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the paced feed")
    p.add_argument("--postgres", default=DEFAULT_PG)
    args = p.parse_args(argv)
    try:
        schema = _schema(args.postgres)
        url = schema.__enter__()
    except psycopg.Error as exc:
        print(f"PostgreSQL unreachable at {args.postgres}: {exc}")
        return 2
    ok = True
    try:
        db = Database(url)
        upgrade(db)
        log = SqlTradeLog(db, account="bench")
        p50, p99 = latency(log, args.orders)
        m50, m99 = latency(MemoryTradeLog(), args.orders)
        i50, i99 = intent_alone(log, args.orders)
        first, last, sent = keeps_up(
            SqlTradeLog(db, account="bench2"), TICKS_TARGET_S, args.seconds
        )
        most = flat_out(SqlTradeLog(db, account="bench3"), 3.0)
        db.dispose()
    finally:
        schema.__exit__(None, None, None)
    out = print  # the figures are this script's output
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out(f"machine: {os.cpu_count()} cores, load average {load} (the figures depend on it)")
    out(f"tick -> broker call, durable intent on PostgreSQL ({args.orders} orders):")
    out(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   (target p99 < {P99_TARGET_MS} ms)")
    out(f"  peer: same path, in-memory trade log: p50 {m50:.3f} ms   p99 {m99:.3f} ms")
    out(f"  peer: the intent commit alone:         p50 {i50:.3f} ms   p99 {i99:.3f} ms")
    out(
        f"paced feed {TICKS_TARGET_S:,} ticks/s on {INSTRUMENTS} instruments for "
        f"{args.seconds:g} s ({sent} orders with durable intents):"
    )
    out(f"  p99 lag first second {first:.3f} ms, last second {last:.3f} ms")
    out(f"  flat out: {most:,.0f} ticks/s (target >= {TICKS_TARGET_S:,})")
    if p99 >= P99_TARGET_MS:
        out(f"MISSED: p99 {p99:.3f} ms >= {P99_TARGET_MS} ms")
        ok = False
    # growing lag: the last second's p99 well above the first's and above a tick period's
    # worth of slack (10 ms) means the queue grows
    if last > max(10.0, 3 * first):
        out(f"MISSED: lag grows at {TICKS_TARGET_S:,} ticks/s ({first:.3f} -> {last:.3f} ms)")
        ok = False
    if most < TICKS_TARGET_S:
        out(f"MISSED: {most:,.0f} ticks/s < {TICKS_TARGET_S:,}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
