"""What the risk manager costs: one engine with positions in --symbols symbols over two
strategies and --open open orders, on a fake broker that answers nothing.

Prints, each beside the same figure without the risk manager (the engine's `AllowAll`), from the
same run:
* the time of `TradingEngine.submit` (risk checks, the order written to an in-memory log, the
  broker call), p50 and p99 over --orders orders, every limit configured;
* ticks per second through `TradingEngine.on_tick` (the manager's continuous checks run at most
  every 200 ms of tick time; ticks here are 1 ms apart);
* the time of one continuous evaluation (`evaluate_risk`) over every book.

Run: .venv/bin/python benchmarks/risk_check.py [--symbols N] [--open N] [--orders N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from algo_trading.domain.events import ExecutionReport, Tick
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import equity
from algo_trading.domain.orders import (
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderSnapshot,
    OrderType,
)
from algo_trading.engine import SimulatedClock, TradingEngine
from algo_trading.engine.ports import ReportSink
from algo_trading.engine.risk import RiskLimits, RiskManager

DAY_10AM_NS = 1_704_169_800 * 10**9  # 2024-01-02 10:00 IST


class SilentBroker:
    def __init__(self) -> None:
        self.sink: ReportSink | None = None

    def connect(self, sink: ReportSink) -> None:
        self.sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        pass

    def cancel(self, client_order_id: ClientOrderId) -> None:
        pass

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        pass


def limits() -> RiskLimits:
    return RiskLimits(
        max_daily_loss_paise=10**12,
        max_drawdown_paise=10**12,
        max_order_value_paise=10**12,
        max_order_quantity=10**6,
        max_position_quantity=10**7,
        max_position_value_paise=10**13,
        max_gross_exposure_paise=10**14,
        max_open_orders=10**6,
        max_price_distance_bps=1_000,
        trading_start=dt.time(9, 15),
        trading_end=dt.time(15, 30),
        breaker_rejections=5,
        breaker_window_minutes=10,
    )


def build(
    symbols: list[str], n_open: int, with_manager: bool
) -> tuple[TradingEngine, SimulatedClock]:
    clock = SimulatedClock(DAY_10AM_NS)
    broker = SilentBroker()
    manager = RiskManager(limits(), {"a": limits(), "b": limits()}) if with_manager else None
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=10**13,
        instruments=[equity(s) for s in symbols],
        risk_manager=manager,
    )
    engine.start()
    sink = broker.sink
    if sink is None:
        raise RuntimeError("the engine did not connect to the broker")
    for i, sym in enumerate(symbols):
        engine.on_tick(Tick(sym, clock.now_ns(), 100_00))
        coid = engine.submit(
            OrderIntent("a" if i % 2 else "b", sym, OrderSide.BUY, 10, OrderType.MARKET)
        )
        sink(ExecutionReport(coid, OrderEvent.ACCEPT, clock.now_ns()))
        sink(
            ExecutionReport(
                coid,
                OrderEvent.FILL,
                clock.now_ns(),
                fill_quantity=10,
                fill_price_paise=100_00,
                trade_id=f"t{i}",
            )
        )
        engine.drain()
    for i in range(n_open):
        engine.submit(
            OrderIntent("a", symbols[i % len(symbols)], OrderSide.BUY, 1, OrderType.LIMIT, 95_00)
        )
    return engine, clock


def submit_times(engine: TradingEngine, symbol: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        intent = OrderIntent(
            "a", symbol, OrderSide.BUY if i % 2 else OrderSide.SELL, 1, OrderType.LIMIT, 100_00
        )
        t0 = time.perf_counter_ns()
        coid = engine.submit(intent)
        out.append((time.perf_counter_ns() - t0) / 1000)
        engine.orders.working.pop(coid, None)  # keep the open orders as built
    return out


def ticks_per_s(engine: TradingEngine, clock: SimulatedClock, symbols: list[str], n: int) -> float:
    ts = clock.now_ns()
    ticks = [
        Tick(symbols[i % len(symbols)], ts + i * 1_000_000, 100_00 + i % 7 * 5) for i in range(n)
    ]
    t0 = time.perf_counter()
    for t in ticks:
        engine.on_tick(t)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--open", type=int, default=20)
    ap.add_argument("--orders", type=int, default=5_000)
    ap.add_argument("--ticks", type=int, default=200_000)
    args = ap.parse_args()
    symbols = [f"S{i:03d}-EQ" for i in range(args.symbols)]
    rows = []
    for with_manager in (False, True):
        engine, clock = build(symbols, args.open, with_manager)
        times = submit_times(engine, symbols[0], args.orders)
        q = statistics.quantiles(times, n=100)
        tps = ticks_per_s(engine, clock, symbols, args.ticks)
        t0 = time.perf_counter_ns()
        for _ in range(100):
            engine.risk_control.next_due_ns = 0
            engine.evaluate_risk(clock.now_ns())
        evaluate_us = (time.perf_counter_ns() - t0) / 100 / 1000
        rows.append(("RiskManager" if with_manager else "AllowAll", q[49], q[98], tps, evaluate_us))
    print(f"{args.symbols} symbols with positions, {args.open} open orders")
    for name, p50, p99, tps, ev in rows:
        print(
            f"{name:12s} submit p50 {p50:7.1f} us  p99 {p99:7.1f} us   "
            f"{tps:10,.0f} ticks/s   evaluate {ev:8.1f} us"
        )


if __name__ == "__main__":
    main()
