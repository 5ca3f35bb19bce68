"""Sweep speed: parameter sets evaluated per second for the SMA crossover on one year of
1-minute bars of one symbol (about 94,000 bars), this project beside vectorbt in the same run.

This project: `algo-trading optimize`'s grid on the local backend (every core; each worker loads
the bars once), every trial a full event-driven backtest with Angel One's charges, next-bar fills
and the square-off. vectorbt: `MA.run` over every window at once and `Portfolio.from_signals`
over every column at once (vectorised, fills at the signal bar's close, no Indian charges). The
two are not the same computation: vectorbt's rate is what a vectorised sweep costs, printed so
the gap is visible; the trade counts of one parameter set are printed side by side as a sanity
check that both ran the same signals.

Run: .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/sweep_speed.py [--bars N]
Prints the figures; exits 1 when this project's rate is below vectorbt's (the issue's target).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from algo_trading.backtest import generate_bars
from algo_trading.research.backends import make_backend
from algo_trading.research.evaluate import BacktestSpec
from algo_trading.research.optimize import run_grid
from algo_trading.research.space import parse_constraint, parse_space
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover

FAST = "fast=5:50:5"
SLOW = "slow=20:200:20"


def ours(series: object, workers: int) -> tuple[float, int, int]:
    spec = BacktestSpec("sma_crossover", quantity=1, charges="angelone")
    dims = parse_space([FAST, SLOW], SmaCrossover.Params, "sma_crossover")
    cons = [parse_constraint("fast<slow", ["fast", "slow"])]
    backend = make_backend("local", spec, [series], workers=workers)  # type: ignore[list-item]
    try:
        backend.map([{"fast": 5, "slow": 20}])  # workers up and data loaded: not timed
        start = time.perf_counter()
        result = run_grid(backend, dims, cons, "sharpe")
        elapsed = time.perf_counter() - start
    finally:
        backend.close()
    one = next(t for t in result.trials if t.params == {"fast": 10, "slow": 40})
    return len(result.trials) / elapsed, len(result.trials), int(one.metrics["trades"])


def vectorbt_rate(close: np.ndarray) -> tuple[float, int, int]:
    import pandas as pd
    import vectorbt as vbt

    prices = pd.Series(close / 100.0)
    fast = list(range(5, 51, 5))
    slow = list(range(20, 201, 20))
    pairs = [(f, s) for f in fast for s in slow if f < s]

    def sweep() -> object:
        fast_ma = vbt.MA.run(prices, window=[f for f, _ in pairs], short_name="fast")
        slow_ma = vbt.MA.run(prices, window=[s for _, s in pairs], short_name="slow")
        entries = fast_ma.ma_crossed_above(slow_ma)
        exits = fast_ma.ma_crossed_below(slow_ma)
        return vbt.Portfolio.from_signals(prices, entries, exits, freq="1min")

    sweep()  # numba compiles on the first call: not timed
    start = time.perf_counter()
    pf = sweep()
    elapsed = time.perf_counter() - start
    trades = pf.trades.count()  # type: ignore[attr-defined]
    one = int(trades.iloc[pairs.index((10, 40))])
    return len(pairs) / elapsed, len(pairs), one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=94_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    series = generate_bars(args.bars, symbol="SBIN", seed=7)
    print(
        f"SMA crossover sweep, {args.bars:,} one-minute bars, fast {FAST}, slow {SLOW}, fast<slow"
    )
    rate, sets, trades = ours(series, args.workers)
    print(
        f"  algo-trading (event-driven, charges on, {args.workers} workers): {rate:8.2f} sets/s "
        f"({sets} sets; fast=10 slow=40: {trades} round trips)"
    )
    vrate, vsets, vtrades = vectorbt_rate(np.asarray(series.close))
    print(
        f"  vectorbt (vectorised, no charges):                  {vrate:8.2f} sets/s "
        f"({vsets} sets; fast=10 slow=40: {vtrades} trades)"
    )
    print(f"  ratio algo-trading / vectorbt: {rate / vrate:.3f} (target: >= 1)")
    return 0 if rate >= vrate else 1


if __name__ == "__main__":
    raise SystemExit(main())
