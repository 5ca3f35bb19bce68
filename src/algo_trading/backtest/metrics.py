"""Performance metrics of a run. Money figures are exact paise until printed; ratios are floats.

Conventions (where practitioners differ, the choice is written here):
* Daily returns: equity at the last bar of each IST trading day, against the previous day's
  (the first day against the starting cash). Sharpe and Sortino are annualised with √252 and a
  zero risk-free rate; Sharpe is 0 when returns do not vary; Sortino's downside deviation is
  the root mean square of the negative daily returns (over all days), None when there is none.
  Both are None with fewer than two daily returns.
* CAGR uses calendar time from the first bar to the last (365.25-day years); it is None over
  no time, -1 when equity ends at or below zero, and None when it exceeds what a float holds
  (a huge gain over a few minutes): computed in logarithms, it never overflows.
* Max drawdown: the largest fall from a running peak of the bar-by-bar equity, as a fraction of
  that peak; its duration is the longest drawdown's (not the deepest's), from the peak to the
  bar that regains it (or the last bar).
* Trades are round trips (flat to flat, or through zero); win rate, profit factor and average
  trade use their P&L net of their charges.
* Exposure: the share of bar times at which any position was open.
* Nothing here divides by zero or overflows, whatever the equity does: daily returns stop at the
  first day that ends with equity at or below zero (a return on nothing is not defined), and a
  ratio that is not a finite number is reported as None, never as inf or nan.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from algo_trading.domain.positions import RoundTrip

__all__ = ["Metrics", "compute_metrics"]

_NS_PER_DAY = 86_400 * 10**9
_IST_NS = 19_800 * 10**9


@dataclass(frozen=True)
class Metrics:
    bars: int
    trades: int
    starting_cash_paise: int
    final_equity_paise: int
    total_return: float
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration_days: float
    win_rate: float | None
    profit_factor: float | None
    avg_trade_paise: int | None
    exposure: float
    charges_paise: int
    net_pnl_paise: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_metrics(
    timeline_ns: npt.NDArray[np.int64],
    equity_paise: npt.NDArray[np.int64],
    exposed: npt.NDArray[np.bool_],
    round_trips: list[RoundTrip],
    starting_cash_paise: int,
    charges_paise: int,
    bars: int,
) -> Metrics:
    if starting_cash_paise <= 0:
        raise ValueError(f"starting cash {starting_cash_paise} paise must be positive")
    final = int(equity_paise[-1]) if len(equity_paise) else starting_cash_paise
    eq = equity_paise.astype(np.float64)
    total_return = final / starting_cash_paise - 1.0
    years = (int(timeline_ns[-1]) - int(timeline_ns[0])) / _NS_PER_DAY / 365.25 if len(eq) else 0
    cagr = _cagr(final, starting_cash_paise, years)
    with np.errstate(all="ignore"):  # every ratio below is checked for a finite value
        sharpe, sortino = _ratios(timeline_ns, eq, starting_cash_paise)
    max_dd, dd_days = _drawdown(timeline_ns, eq)
    nets = [t.pnl_paise - t.charges_paise for t in round_trips]
    wins = [x for x in nets if x > 0]
    losses = [x for x in nets if x < 0]
    return Metrics(
        bars=bars,
        trades=len(nets),
        starting_cash_paise=starting_cash_paise,
        final_equity_paise=final,
        total_return=total_return,
        cagr=cagr,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_dd,
        max_drawdown_duration_days=dd_days,
        win_rate=len(wins) / len(nets) if nets else None,
        profit_factor=_finite(sum(wins) / -sum(losses)) if losses else None,
        avg_trade_paise=round(Fraction(sum(nets), len(nets))) if nets else None,
        exposure=float(exposed.mean()) if len(exposed) else 0.0,
        charges_paise=charges_paise,
        net_pnl_paise=final - starting_cash_paise,
    )


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _cagr(final: int, start: int, years: float) -> float | None:
    if years <= 0:
        return None
    if final <= 0:
        return -1.0
    # (final / start) ** (1 / years) overflows for a big gain over a short time: use logs
    log_growth = (math.log(final) - math.log(start)) / years
    if log_growth > math.log(sys.float_info.max):
        return None
    return math.expm1(log_growth)


def _ratios(
    ts: npt.NDArray[np.int64], eq: npt.NDArray[np.float64], start: int
) -> tuple[float | None, float | None]:
    if not len(eq):
        return None, None
    day = (ts + _IST_NS) // _NS_PER_DAY
    last_of_day = np.flatnonzero(np.append(day[1:] != day[:-1], True))
    closes = np.concatenate([[float(start)], eq[last_of_day]])
    wiped = np.flatnonzero(closes <= 0)
    if len(wiped):  # no return is defined on a day that starts with nothing
        closes = closes[: wiped[0] + 1]
    r = np.diff(closes) / closes[:-1]
    if len(r) < 2:  # a standard deviation needs two returns
        return None, None
    mean, sd = float(r.mean()), float(r.std(ddof=1))
    if not (math.isfinite(mean) and math.isfinite(sd)):
        return None, None
    sharpe = 0.0 if sd == 0 else _finite(mean / sd * math.sqrt(252))
    downside = np.minimum(r, 0.0)
    dd = float(np.sqrt(np.mean(downside * downside)))
    if not math.isfinite(dd):
        return sharpe, None
    sortino = (0.0 if mean == 0 else None) if dd == 0 else _finite(mean / dd * math.sqrt(252))
    return sharpe, sortino


def _drawdown(ts: npt.NDArray[np.int64], eq: npt.NDArray[np.float64]) -> tuple[float, float]:
    if not len(eq):
        return 0.0, 0.0
    peak = np.maximum.accumulate(eq)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (peak - eq) / peak, 0.0)
    max_dd = float(dd.max())
    under = eq < peak
    if not under.any():
        return max_dd, 0.0
    # index of the peak each bar is measured against
    peak_idx = np.maximum.accumulate(np.where(eq >= peak, np.arange(len(eq)), 0))
    starts = np.flatnonzero(under & ~np.concatenate([[False], under[:-1]]))
    recover = np.flatnonzero(~under)
    k = np.searchsorted(recover, starts)
    ends = np.where(k < len(recover), recover[np.minimum(k, len(recover) - 1)], len(eq) - 1)
    longest = int((ts[ends] - ts[peak_idx[starts]]).max())
    return max_dd, longest / _NS_PER_DAY
