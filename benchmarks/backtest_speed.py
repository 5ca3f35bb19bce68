"""Backtest speed: the SMA(10)/SMA(30) crossover on generated one-minute bars of one symbol.

The bars are a geometric random walk with about 25 % annual volatility on the 0.05 tick (issue
#9): a realistic number of orders (about 19,000 round trips per million bars with the 10/30
crossover), so the order path is measured, not only the bar loop.

Prints, each with its target (issues #2 and #9):
* bars per second of this engine (`run_backtest`, Python strategy), best and median of
  --repeat runs on --bars bars held in memory;
* bars per second of backtrader on the first --bt-bars of the same bars, in the same run
  (backtrader's own SMA and CrossOver: speed is measured here, not parity), and the ratio.
  The target compares like with like: backtrader event-driven (`runonce=False`, indicators
  updated bar by bar, as it must run live), which is also how the issue's 7,900 bars/s
  figure behaves. Backtrader's default `runonce=True` computes indicators over the whole
  preloaded array first (not event-driven); its rate and ratio are printed as context;
* peak memory and wall time of the whole command `algo-trading backtest ... --json` on the
  --bars CSV, loading included, each run in a child process (best of --repeat). The command
  runs with its defaults (Angel One's charges and buying power) and `--cash` of CLI_CASH
  rupees: with the default ten lakh the account goes broke after a few thousand trades and
  stops trading, which would time a different, smaller run. Its fills must equal the
  engine's, or the script stops.

Every rate is printed beside the fills it did: the engine's on all bars, backtrader's and
the engine's own on backtrader's first --bt-bars (the same strategy on the same bars must
trade the same number of times, or the script stops).

Peak memory is the child's peak resident set size (the kernel's ru_maxrss), read with
os.wait4 for that one child by a small launcher process (see `_LAUNCHER` for why). RSS rather
than tracemalloc because tracemalloc sees only what goes through Python's allocator hooks (not
pyarrow's memory pool, not the interpreter and its shared libraries) and slows the run it
measures; RSS is what the machine must have. wait4 rather than getrusage(RUSAGE_CHILDREN)
because the latter is the largest of all children reaped so far, so the runs' figures mix.

Run: .venv/bin/python benchmarks/backtest_speed.py [--bars N] [--bt-bars N] [--repeat N]
Exits 1 when a figure misses its target.

Instructions per bar, which the machine's load does not change (valgrind's callgrind):
`--runs-only engine|backtrader --runs R` only generates --bars bars, warms up and runs that
side R times (nothing timed, nothing else run). The instructions of R=2 minus those of R=1,
divided by --bars, are one run's per bar, set-up and imports cancelled:

    for r in 1 2; do valgrind --tool=callgrind --callgrind-out-file=cg.$r \
      .venv/bin/python benchmarks/backtest_speed.py --runs-only engine --runs $r --bars 100000
    done   # then (totals of cg.2 - cg.1) / 100000; backtrader: --bars 10000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import numpy as np

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import build_strategy, generate_bars, run_backtest, write_bars
from algo_trading.strategy import BUILTIN_STRATEGIES

TARGET_RATE = 500_000  # bars/s, this engine with a Python strategy
TARGET_RATIO = 50  # times backtrader's event-driven rate in the same run, on the medians
TARGET_PEAK_MB = 500
TARGET_CLI_S = 4.0
CLI_CASH = "1000000000"  # rupees (100 crore): enough that every signal of the run trades
PEERS = (  # bars/s measured on 1,000,000 bars (issue #2), quoted for scale only
    ("backtrader", 7_900),
    ("NautilusTrader (Python strategy)", 15_000),
    ("backtesting.py", 160_000),
)

FAST, SLOW, QUANTITY = 10, 30, 100
_IST_NS = 19_800 * 10**9
_NS_PER_DAY = 86_400 * 10**9
_BT_EPOCH = 719_163.0  # backtrader's date number of 1970-01-01 (proleptic ordinal)
_TICK = 5
ANNUAL_VOL = 0.25
_BARS_PER_YEAR = 250 * 375  # NSE sessions a year x one-minute bars a session


def realistic_bars(n: int, seed: int = 7, start_price_paise: int = 100_000) -> BarSeries:
    """A driftless geometric random walk of the close with ANNUAL_VOL, on the 0.05 tick; each
    bar opens at the previous close and reaches beyond its open and close by a random part of
    one bar's typical move. Times and volumes are `generate_bars`' (NSE session minutes)."""
    base = generate_bars(n, seed=seed)
    rng = np.random.default_rng(seed)
    sigma = ANNUAL_VOL / np.sqrt(_BARS_PER_YEAR)
    log_path = np.cumsum(rng.normal(-0.5 * sigma * sigma, sigma, size=n))
    close_t = np.maximum(np.rint(start_price_paise / _TICK * np.exp(log_path)), 1).astype(np.int64)
    open_t = np.empty(n, dtype=np.int64)
    open_t[0] = start_price_paise // _TICK
    open_t[1:] = close_t[:-1]
    reach = np.abs(rng.normal(0.0, 0.5 * sigma, size=(2, n))) * close_t
    high_t = np.maximum(open_t, close_t) + np.rint(reach[0]).astype(np.int64)
    low_t = np.maximum(np.minimum(open_t, close_t) - np.rint(reach[1]).astype(np.int64), 1)
    return BarSeries(
        "SYNTH",
        base.ts_ns,
        open_t * _TICK,
        high_t * _TICK,
        low_t * _TICK,
        close_t * _TICK,
        base.volume,
    )


@dataclass(frozen=True)
class Timing:
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _time(fn: Callable[[], object], repeat: int) -> Timing:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return Timing(out)


# --- this engine ----------------------------------------------------------------------------


def _ours(series: BarSeries) -> int:
    """Run the engine over `series`; its number of fills."""
    strategy = build_strategy(
        BUILTIN_STRATEGIES["sma_crossover"],
        {"fast": str(FAST), "slow": str(SLOW)},
        quantity=QUANTITY,
    )
    return len(run_backtest(strategy, [series]).fills)


# --- backtrader -----------------------------------------------------------------------------


class _ArrayFeed(bt.feed.DataBase):  # type: ignore[misc]
    """Bars from prepared rows (no pandas here): (date number, open, high, low, close, volume)."""

    params = (("rows", ()),)

    def start(self) -> None:
        super().start()
        self._rows: Iterator[tuple[float, ...]] = iter(self.p.rows)

    def _load(self) -> bool:
        row = next(self._rows, None)
        if row is None:
            return False
        lines = self.lines
        lines.datetime[0], lines.open[0], lines.high[0], lines.low[0] = row[:4]
        lines.close[0], lines.volume[0] = row[4:]
        lines.openinterest[0] = 0.0
        return True


class _BtSmaCross(bt.Strategy):  # type: ignore[misc]
    """Long `QUANTITY` when SMA(10) crosses above SMA(30), flat when it crosses below."""

    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=FAST)
        slow = bt.indicators.SMA(self.data.close, period=SLOW)
        self.cross = bt.indicators.CrossOver(fast, slow)
        self.orders = 0
        self.fills = 0

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills += 1

    def next(self) -> None:
        if self.cross[0] > 0 and not self.position:
            self.buy(size=QUANTITY)
            self.orders += 1
        elif self.cross[0] < 0 and self.position:
            self.close()
            self.orders += 1


def _bt_rows(s: BarSeries) -> list[tuple[float, ...]]:
    # Backtrader keeps naive local datetimes as day numbers; these are IST wall times.
    days = (s.ts_ns + _IST_NS) / _NS_PER_DAY + _BT_EPOCH
    cols = [days, s.open / 100, s.high / 100, s.low / 100, s.close / 100, s.volume * 1.0]
    return list(zip(*(c.tolist() for c in cols), strict=True))


def _backtrader(rows: list[tuple[float, ...]], *, runonce: bool) -> tuple[int, int]:
    """Run backtrader over `rows`; its orders and its fills."""
    # stdstats=False drops the default observers: backtrader at its fastest, so the ratio
    # is not flattered.
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(_ArrayFeed(rows=rows, timeframe=bt.TimeFrame.Minutes, compression=1))
    cerebro.addstrategy(_BtSmaCross)
    cerebro.broker.setcash(1_000_000.0)
    (strat,) = cerebro.run()
    return int(strat.orders), int(strat.fills)


# --- the whole command in a child process ---------------------------------------------------


def _cli_path() -> str:
    exe = Path(sys.executable).with_name("algo-trading")
    if not exe.exists():
        raise SystemExit(f"{exe} not found: install the package into this environment first")
    return str(exe)


# Started by a small launcher, not by this process: Linux carries the forking process's peak
# RSS into the child's ru_maxrss at exec, so a child of this (large) process would report
# at least this process's size. The launcher is about 10 MB, below any figure it reports.
_LAUNCHER = """
import json, os, sys, time
out, err, *argv = sys.argv[1:]
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
actions = [(os.POSIX_SPAWN_OPEN, 1, out, flags, 0o644), (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o644)]
t0 = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
wall_s = time.perf_counter() - t0
rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # Linux counts KiB
print(json.dumps({"wall_s": wall_s, "exit": os.waitstatus_to_exitcode(status), "rss": rss}))
"""


def _child(argv: list[str], workdir: Path) -> tuple[float, int, str]:
    """Run argv (argv[0] an absolute path): its wall time, its own peak RSS in bytes, and
    its stdout."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    launcher = [sys.executable, "-c", _LAUNCHER, str(out_path), str(err_path), *argv]
    done = subprocess.run(launcher, capture_output=True, text=True, check=True)  # noqa: S603
    figures = json.loads(done.stdout)
    if figures["exit"] != 0:
        raise SystemExit(f"{' '.join(argv)} exited {figures['exit']}: {err_path.read_text()}")
    return float(figures["wall_s"]), int(figures["rss"]), out_path.read_text()


# --- report ---------------------------------------------------------------------------------


def _row(name: str, measured: str, target: str, ok: bool | None) -> tuple[str, ...]:
    return name, measured, target, "" if ok is None else ("PASS" if ok else "FAIL")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000, help="bars for this engine")
    ap.add_argument("--bt-bars", type=int, default=100_000, help="first bars for backtrader")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of each timing")
    ap.add_argument(
        "--runs-only",
        choices=("engine", "backtrader"),
        help="only run this side --runs times on --bars bars, untimed (for callgrind)",
    )
    ap.add_argument("--runs", type=int, default=1, help="runs of --runs-only")
    args = ap.parse_args(argv)
    if args.bars <= 0 or args.bt_bars <= 0 or args.repeat <= 0 or args.runs <= 0:
        ap.error("--bars, --bt-bars, --repeat and --runs must be positive")
    if args.runs_only is not None:
        return _runs_only(args.runs_only, args.bars, args.runs)
    bt_bars = min(args.bt_bars, args.bars)

    t0 = time.perf_counter()
    series = realistic_bars(args.bars, seed=7)
    with tempfile.TemporaryDirectory(prefix="backtest-speed-") as tmp:
        workdir = Path(tmp)
        csv_path = write_bars(series, workdir / "SYNTH.csv")
        print(
            f"{args.bars:,} one-minute bars of a {ANNUAL_VOL:.0%} geometric random walk "
            f"generated (seed 7) and written to CSV "
            f"({csv_path.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )

        fills = _ours(series)  # warm-up: imports, first-call costs
        ours = _time(lambda: _ours(series), args.repeat)
        print(
            f"this engine: {fills:,} fills per run (about {fills // 2:,} round trips); "
            f"runs {_fmt_runs(ours)}"
        )

        head = BarSeries(
            series.symbol,
            series.ts_ns[:bt_bars],
            series.open[:bt_bars],
            series.high[:bt_bars],
            series.low[:bt_bars],
            series.close[:bt_bars],
            series.volume[:bt_bars],
        )
        rows = _bt_rows(head)
        bt_orders, bt_fills = _backtrader(rows, runonce=False)
        head_fills = _ours(head)
        print(
            f"on the first {bt_bars:,} bars: backtrader {bt_orders:,} orders, {bt_fills:,} "
            f"fills; this engine {head_fills:,} fills"
        )
        # Backtrader averages in floats, this engine exactly in paise: a near tie of the two
        # averages can cross a bar apart (a handful of fills in thousands), never more.
        if abs(bt_fills - head_fills) > max(2, head_fills // 200):
            raise SystemExit("backtrader and this engine traded differently: not comparable")
        theirs = _time(lambda: _backtrader(rows, runonce=False), args.repeat)
        print(f"backtrader event-driven: runs {_fmt_runs(theirs)}")
        theirs_vec = _time(lambda: _backtrader(rows, runonce=True), args.repeat)
        print(f"backtrader runonce: runs {_fmt_runs(theirs_vec)}")

        cmd = [
            _cli_path(),
            "backtest",
            "--strategy",
            "sma_crossover",
            "--data",
            str(csv_path),
            "--quantity",
            str(QUANTITY),
            "--cash",
            CLI_CASH,
            "--json",
        ]
        cli = [_child(cmd, workdir) for _ in range(args.repeat)]
        result = json.loads(cli[0][2].strip().splitlines()[-1])
        if result["bars"] != args.bars:
            raise SystemExit(f"the command saw {result['bars']} bars, not {args.bars}")
        print(
            f"command (Angel One charges, --cash {int(CLI_CASH):,}): {result['fills']:,} fills, "
            f"{result['trades']:,} trades; runs {_fmt_runs(Timing([c[0] for c in cli]))}"
        )
        if result["fills"] != fills:
            raise SystemExit(
                f"the command made {result['fills']} fills, the engine {fills}: not comparable"
            )
        baseline_rss = _child(
            [sys.executable, "-c", "import algo_trading.cli.main, algo_trading.backtest"],
            workdir,
        )[1]

    rate_best, rate_median = args.bars / ours.best, args.bars / ours.median
    bt_rate, bt_rate_median = bt_bars / theirs.best, bt_bars / theirs.median
    ratio = rate_median / bt_rate_median
    bt_vec_rate = bt_bars / theirs_vec.best
    peak_mb = max(c[1] for c in cli) / 2**20
    cli_best = min(c[0] for c in cli)
    cli_median = statistics.median(c[0] for c in cli)
    bt_head = f"backtrader, first {bt_bars:,} bars"
    rows_out = [
        _row(f"this engine, best of {args.repeat}", f"{rate_best:,.0f} bars/s",
             f">= {TARGET_RATE:,}", rate_best >= TARGET_RATE),
        _row("this engine, median", f"{rate_median:,.0f} bars/s",
             f">= {TARGET_RATE:,}", rate_median >= TARGET_RATE),
        _row("  its fills per run", f"{fills:,}", "", None),
        _row(f"{bt_head}, event-driven, best", f"{bt_rate:,.0f} bars/s", "", None),
        _row(f"{bt_head}, event-driven, median", f"{bt_rate_median:,.0f} bars/s", "", None),
        _row("  its fills per run (this engine's)", f"{bt_fills:,} ({head_fills:,})", "", None),
        _row("ratio to it (median / median)", f"{ratio:,.1f} x",
             f">= {TARGET_RATIO}", ratio >= TARGET_RATIO),
        _row("ratio to it (best / best)", f"{rate_best / bt_rate:,.1f} x", "(context)", None),
        _row(f"{bt_head}, runonce", f"{bt_vec_rate:,.0f} bars/s", "(context)", None),
        _row("ratio to it (best / best)", f"{rate_best / bt_vec_rate:,.1f} x", "(context)", None),
        _row("peak RSS of the command", f"{peak_mb:,.0f} MB",
             f"< {TARGET_PEAK_MB}", peak_mb < TARGET_PEAK_MB),
        _row("  interpreter and imports alone", f"{baseline_rss / 2**20:,.0f} MB", "", None),
        _row("command wall time, best", f"{cli_best:.2f} s",
             f"< {TARGET_CLI_S:g}", cli_best < TARGET_CLI_S),
        _row("  its fills", f"{result['fills']:,}", "", None),
        _row("command wall time, median", f"{cli_median:.2f} s", "(context)", None),
    ]  # fmt: skip
    print()
    _table(("figure", "measured", "target", ""), rows_out)
    print("\nFor scale (measured elsewhere on 1,000,000 bars, issue #2):")
    for name, rate in PEERS:
        print(f"  {name:<34} ~{rate:>9,} bars/s")
    failed = [r for r in rows_out if r[3] == "FAIL"]
    return 1 if failed else 0


def _runs_only(side: str, bars: int, runs: int) -> int:
    """Generate the bars, warm up on a few, then run `side` `runs` times; print its fills."""
    series = realistic_bars(bars, seed=7)
    warm = realistic_bars(2_000, seed=7)
    if side == "engine":
        _ours(warm)
        fills = [_ours(series) for _ in range(runs)][-1]
    else:
        rows = _bt_rows(series)
        _backtrader(_bt_rows(warm), runonce=False)
        fills = [_backtrader(rows, runonce=False)[1] for _ in range(runs)][-1]
    print(f"{side}: {fills:,} fills per run on {bars:,} bars, {runs} run(s)")
    return 0


def _fmt_runs(t: Timing) -> str:
    return ", ".join(f"{s:.2f} s" for s in t.seconds)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for r in (header, *rows):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )


if __name__ == "__main__":
    sys.exit(main())
