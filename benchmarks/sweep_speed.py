"""Sweep speed: parameter sets evaluated per second for the SMA crossover on one year of
1-minute bars of one symbol (about 94,000 bars), this project beside vectorbt in the same run.

This project: `algo-trading optimize`'s grid, every trial with Angel One's charges, next-bar
fills, buying power and the engine's metrics. By default on the vectorised path
(`research.vectorised`), whose fills, charges and metrics equal the event-driven engine's
(tests/integration/research/test_vectorised.py proves it over random data; here a few sets are
checked against the engine again); `--engine event` times the engine itself.

vectorbt: `MA.run` over every window at once and `Portfolio.from_signals` over every column at
once, given the same semantics where vectorbt has them: the crossing signals shifted one bar and
filled at that bar's open (our market orders fill at the next bar's open), one share per entry,
the same starting cash, long only. What vectorbt does not model, so its rate does not pay for:
charges (it runs with none), buying-power refusals, exact integer averages (its are floats, fed
whole paise so that their order is exact too).

Results compared per set: with charges off on our side, the closed trades and the final equity
of each set must equal vectorbt's. One rule differs and is left as each project has it: vectorbt
counts a crossing above only once the fast average has been below the slow one at some bar since
the data began (and the mirror), ours from the first bar both are ready; the two disagree only
when the averages start out equal and then part, which these bars do not do.

Run: .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/sweep_speed.py [--bars N]
Prints the figures with the machine's load and CPU seconds (both sides: wall rates are noisy on a
shared machine); exits 1 when this project's rate is below vectorbt's (the issue's target) or when
any result differs.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import generate_bars, metrics_of
from algo_trading.research.backends import make_backend
from algo_trading.research.evaluate import BacktestSpec, evaluation_path, run_one
from algo_trading.research.optimize import run_grid
from algo_trading.research.space import parse_constraint, parse_space
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover

FAST = "fast=5:50:5"
SLOW = "slow=20:200:20"
CASH_PAISE = 1_000_000 * 100


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _grid(spec: BacktestSpec, series: BarSeries, backend_name: str, workers: int) -> Any:
    dims = parse_space([FAST, SLOW], SmaCrossover.Params, "sma_crossover")
    cons = [parse_constraint("fast<slow", ["fast", "slow"])]
    backend = make_backend(backend_name, spec, [series], workers=workers)
    try:
        backend.map([{"fast": 5, "slow": 20}] * workers)  # workers up, data loaded: not timed
        start = time.perf_counter()
        result = run_grid(backend, dims, cons, "sharpe")
        elapsed = time.perf_counter() - start
    finally:
        backend.close()
    return result, elapsed


def ours(series: BarSeries, workers: int, engine: str, charges: str) -> dict[str, Any]:
    spec = BacktestSpec("sma_crossover", quantity=1, cash_paise=CASH_PAISE, charges=charges)
    spec = BacktestSpec(**{**asdict(spec), "engine": engine})
    path = evaluation_path(spec, [series], {"fast": 10, "slow": 40})
    # One CPU: the sequential backend in this process, so CPU seconds are all counted here.
    cpu0 = _cpu()
    seq, seq_wall = _grid(spec, series, "sequential", 1)
    cpu = _cpu() - cpu0
    par, par_wall = _grid(spec, series, "local", workers)
    if [t.metrics for t in par.trials] != [t.metrics for t in seq.trials]:
        raise SystemExit("local workers and one-by-one disagree")
    sets = len(seq.trials)
    return {
        "path": path,
        "sets": sets,
        "rate": sets / par_wall,
        "rate_1cpu_wall": sets / seq_wall,
        "rate_per_cpu_s": sets / cpu,
        "trials": {(t.params["fast"], t.params["slow"]): t.metrics for t in seq.trials},
    }


def check_against_engine(series: BarSeries, pairs: list[tuple[int, int]]) -> int:
    """Sets whose vectorised metrics differ from the event-driven engine's (should be 0)."""
    spec = BacktestSpec("sma_crossover", quantity=1, cash_paise=CASH_PAISE)
    engine = BacktestSpec(**{**asdict(spec), "engine": "event"})
    from algo_trading.research.evaluate import evaluate

    differ = 0
    for f, s in pairs:
        vec = asdict(evaluate(spec, [series], {"fast": f, "slow": s}))
        eng = asdict(metrics_of(run_one(engine, [series], {"fast": f, "slow": s}).run))
        differ += vec != eng
    return differ


def vectorbt_sweep(series: BarSeries) -> dict[str, Any]:
    import pandas as pd
    import vectorbt as vbt

    # In paise: every running sum of whole paise is exact in a float64 (below 2**53), so
    # vectorbt's averages order exactly as our integer ones do (rupees would add float noise
    # that makes and hides crossings where the averages are equal).
    close = pd.Series(np.asarray(series.close, dtype=np.float64))
    opens = pd.Series(np.asarray(series.open, dtype=np.float64))
    fast = list(range(5, 51, 5))
    slow = list(range(20, 201, 20))
    pairs = [(f, s) for f in fast for s in slow if f < s]

    def sweep() -> Any:
        fast_ma = vbt.MA.run(close, window=[f for f, _ in pairs], short_name="fast")
        slow_ma = vbt.MA.run(close, window=[s for _, s in pairs], short_name="slow")
        entries = fast_ma.ma_crossed_above(slow_ma)
        exits = fast_ma.ma_crossed_below(slow_ma)
        # decided on bar i's close, filled at bar i+1's open, one share, no fees
        return vbt.Portfolio.from_signals(
            close,
            entries.shift(1, fill_value=False),
            exits.shift(1, fill_value=False),
            price=opens,
            size=1,
            init_cash=float(CASH_PAISE),
            freq="1min",
        )

    sweep()  # numba compiles on the first call: not timed
    cpu0, start = time.process_time(), time.perf_counter()
    pf = sweep()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    closed = pf.trades.closed.count()
    final = pf.final_value()
    results = {p: (int(closed.iloc[k]), round(float(final.iloc[k]))) for k, p in enumerate(pairs)}
    return {
        "sets": len(pairs),
        "rate": len(pairs) / elapsed,
        "rate_per_cpu_s": len(pairs) / cpu,
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bars", type=int, default=94_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--engine", default="auto", choices=["auto", "event"])
    parser.add_argument("--check", type=int, default=3, help="sets re-run on the engine")
    args = parser.parse_args()
    series = generate_bars(args.bars, symbol="SBIN", seed=7)
    load = os.getloadavg()
    print(
        f"SMA crossover sweep, {args.bars:,} one-minute bars, fast {FAST}, slow {SLOW}, "
        f"fast<slow; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    mine = ours(series, args.workers, args.engine, "angelone")
    print(
        f"  algo-trading ({mine['path']}, Angel One charges, {args.workers} workers): "
        f"{mine['rate']:8.2f} sets/s; one process {mine['rate_1cpu_wall']:.2f} sets/s, "
        f"{mine['rate_per_cpu_s']:.2f} sets per CPU-second ({mine['sets']} sets)"
    )
    vbt = vectorbt_sweep(series)
    print(
        f"  vectorbt (vectorised, next-open fills, no charges):  {vbt['rate']:8.2f} sets/s; "
        f"{vbt['rate_per_cpu_s']:.2f} sets per CPU-second ({vbt['sets']} sets)"
    )
    ratio = mine["rate"] / vbt["rate"]
    cpu_ratio = mine["rate_per_cpu_s"] / vbt["rate_per_cpu_s"]
    print(
        f"  ratio algo-trading / vectorbt: {ratio:.3f} wall, {cpu_ratio:.3f} per CPU-second "
        "(target: >= 1)"
    )
    failed = ratio < 1
    if args.engine == "auto" and args.check:
        picks = [(10, 40), (5, 20), (50, 200), (25, 60), (45, 100)][: args.check]
        differ = check_against_engine(series, picks)
        print(f"  vectorised vs event-driven engine, {len(picks)} sets: {differ} differ")
        failed |= differ > 0
    # Same results: our sweep without charges against vectorbt's, set by set.
    free = ours(series, 1, args.engine, "none") if args.engine == "auto" else None
    if free is not None:
        differ_sets = []
        for pair, (trades, final) in vbt["results"].items():
            m = free["trials"][pair]
            if (m["trades"], m["final_equity_paise"]) != (trades, final):
                differ_sets.append((pair, (m["trades"], m["final_equity_paise"]), (trades, final)))
        print(
            f"  same results (charges off): closed trades and final equity equal vectorbt's in "
            f"{len(vbt['results']) - len(differ_sets)} of {len(vbt['results'])} sets"
        )
        for pair, a, b in differ_sets[:5]:
            print(f"    fast={pair[0]} slow={pair[1]}: ours {a}, vectorbt {b}")
        failed |= bool(differ_sets)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
