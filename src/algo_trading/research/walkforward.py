"""Walk-forward analysis: choose the parameters on a training window, judge them on the test
window after it, move on; stitch the out-of-sample equity; report how much of the in-sample
performance survives, and whether the best in-sample result is likely luck of many trials
(the deflated Sharpe ratio of Bailey and López de Prado, 2014).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import metrics_of
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ns_to_ist
from algo_trading.research.backends import Backend
from algo_trading.research.evaluate import BacktestSpec, run_one
from algo_trading.research.objectives import objective_value
from algo_trading.research.optimize import run_grid
from algo_trading.research.space import Constraint, Dimension

__all__ = [
    "WalkForwardResult",
    "Window",
    "deflated_sharpe",
    "make_windows",
    "slice_series",
    "walk_forward",
]

_EULER = 0.5772156649015329


@dataclass(frozen=True)
class Window:
    train_start: dt.date
    train_end: dt.date  # inclusive
    test_start: dt.date
    test_end: dt.date  # inclusive


def _days(series: Sequence[BarSeries]) -> list[dt.date]:
    days: set[dt.date] = set()
    for s in series:
        for ts in np.unique(s.ts_ns // 86_400_000_000_000 * 86_400_000_000_000):
            days.add(ns_to_ist(int(ts) + 43_200_000_000_000).date())
    return sorted(days)


def make_windows(
    days: Sequence[dt.date], train_days: int, test_days: int, anchored: bool
) -> list[Window]:
    """Windows over trading days; rolling keeps the training length, anchored grows it."""
    if train_days <= 0 or test_days <= 0:
        raise ConfigError("--train-days and --test-days must be positive")
    if len(days) < train_days + test_days:
        raise ConfigError(
            f"walk-forward: the data has {len(days)} trading days, fewer than one window "
            f"({train_days} train + {test_days} test)"
        )
    windows = []
    start = 0
    test_from = train_days
    while test_from + test_days <= len(days):
        first = 0 if anchored else start
        windows.append(
            Window(
                days[first], days[test_from - 1], days[test_from], days[test_from + test_days - 1]
            )
        )
        test_from += test_days
        start += test_days
    return windows


def slice_series(series: Sequence[BarSeries], first: dt.date, last: dt.date) -> list[BarSeries]:
    """The bars of IST days first..last, inclusive."""
    from algo_trading.domain.events import IST

    lo = int(dt.datetime.combine(first, dt.time(0), tzinfo=IST).timestamp()) * 1_000_000_000
    hi = (
        int(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=IST).timestamp())
        * 1_000_000_000
    )
    out = []
    for s in series:
        a, b = np.searchsorted(s.ts_ns, [lo, hi])
        out.append(
            BarSeries(
                s.symbol,
                s.ts_ns[a:b],
                s.open[a:b],
                s.high[a:b],
                s.low[a:b],
                s.close[a:b],
                s.volume[a:b],
            )
        )
    return [s for s in out if len(s)]


def deflated_sharpe(returns: Sequence[float], trial_sharpes: Sequence[float]) -> float | None:
    """The probability that the best strategy's true Sharpe ratio is above zero, given that it
    was the best of len(trial_sharpes) tries (all Sharpe ratios per period, not annualised).
    None when there is too little to judge (fewer than 3 returns or 2 trials)."""
    r = np.asarray(returns, dtype=np.float64)
    n_trials = len(trial_sharpes)
    if len(r) < 3 or n_trials < 2 or float(r.std()) == 0.0:
        return None
    sr = float(r.mean() / r.std(ddof=1))
    z = (r - r.mean()) / r.std()
    skew = float((z**3).mean())
    kurt = float((z**4).mean())
    var_trials = statistics.pvariance(trial_sharpes)
    nd = statistics.NormalDist()
    sr0 = math.sqrt(var_trials) * (
        (1 - _EULER) * nd.inv_cdf(1 - 1 / n_trials)
        + _EULER * nd.inv_cdf(1 - 1 / (n_trials * math.e))
    )
    denom = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
    if denom <= 0:
        return None
    return nd.cdf((sr - sr0) * math.sqrt(len(r) - 1) / math.sqrt(denom))


def _daily_returns(timeline_ns: np.ndarray, equity: np.ndarray) -> list[float]:
    if len(equity) < 2:
        return []
    days = (timeline_ns + 19_800_000_000_000) // 86_400_000_000_000
    last = np.r_[days[1:] != days[:-1], True]
    closes = equity[last].astype(np.float64)
    return list(np.diff(closes) / closes[:-1])


@dataclass
class WindowResult:
    window: Window
    best_params: dict[str, Any]
    in_sample: float
    out_of_sample: float
    out_of_sample_return: float
    trials: int


@dataclass
class WalkForwardResult:
    objective: str
    windows: list[WindowResult] = field(default_factory=list)
    equity_ns: list[int] = field(default_factory=list)
    equity_paise: list[int] = field(default_factory=list)
    deflated_sharpe: float | None = None

    @property
    def mean_gap(self) -> float | None:
        pairs = [
            (w.in_sample, w.out_of_sample)
            for w in self.windows
            if math.isfinite(w.in_sample) and math.isfinite(w.out_of_sample)
        ]
        if not pairs:
            return None
        return statistics.fmean(a - b for a, b in pairs)

    @property
    def warning(self) -> str | None:
        if self.deflated_sharpe is not None and self.deflated_sharpe < 0.95:
            return (
                f"the best in-sample result is likely an artefact of the number of trials "
                f"(deflated Sharpe ratio {self.deflated_sharpe:.2f} < 0.95)"
            )
        return None


def walk_forward(
    make_backend: Callable[[Sequence[BarSeries]], Backend],
    spec: BacktestSpec,
    series: Sequence[BarSeries],
    dims: Sequence[Dimension],
    constraints: Sequence[Constraint],
    objective: str,
    *,
    train_days: int,
    test_days: int,
    anchored: bool = False,
) -> WalkForwardResult:
    windows = make_windows(_days(series), train_days, test_days, anchored)
    result = WalkForwardResult(objective)
    equity = float(spec.cash_paise)
    last_sharpes: list[float] = []
    last_returns: list[float] = []
    for w in windows:
        train = slice_series(series, w.train_start, w.train_end)
        test = slice_series(series, w.test_start, w.test_end)
        backend = make_backend(train)
        try:
            sweep = run_grid(backend, dims, constraints, objective)
        finally:
            backend.close()
        best = sweep.best
        run = run_one(spec, test, best.params).run
        oos = metrics_of(run)
        scale = equity / spec.cash_paise
        for ts, eq in zip(run.timeline_ns.tolist(), run.equity_paise.tolist(), strict=True):
            result.equity_ns.append(int(ts))
            result.equity_paise.append(round(eq * scale))
        equity = result.equity_paise[-1] if result.equity_paise else equity
        result.windows.append(
            WindowResult(
                w,
                best.params,
                best.value,
                objective_value(objective, oos),
                oos.total_return,
                len(sweep.trials),
            )
        )
        in_sample_run = run_one(spec, train, best.params).run
        last_returns = _daily_returns(in_sample_run.timeline_ns, in_sample_run.equity_paise)
        last_sharpes = [
            t.metrics["sharpe"] / math.sqrt(252)
            for t in sweep.trials
            if t.metrics.get("sharpe") is not None
        ]
    result.deflated_sharpe = deflated_sharpe(last_returns, last_sharpes)
    return result
