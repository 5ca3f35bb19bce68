"""Shared pieces of the peer-parity tests (issue #2): one shape for what a run leaves behind,
a backtrader feed over our `BarSeries` (no pandas, no CSV round trip), a backtrader strategy
base that records what its broker executed, and a comparison that names the first difference.

backtrader works in float rupees; every price it reports is turned back into paise with
`round(price * 100)` here, at the edge, and nothing else of ours sees its floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest.driver import BacktestRun

__all__ = [
    "IST",
    "BarSeriesFeed",
    "FillRow",
    "Outcome",
    "RecordingStrategy",
    "assert_same_outcome",
    "engine_outcome",
    "fill_rows",
    "paise",
    "run_backtrader",
]

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
_NS_PER_US = 1_000
# backtrader keeps naive wall-clock times; ours are IST, so its epoch is 1970-01-01 05:30.
_EPOCH_IST_WALL = dt.datetime(1970, 1, 1, 5, 30)  # noqa: DTZ001 - naive on purpose, see above

FillRow = tuple[int, str, int, int]
"""(ts_ns of the bar it filled on, "BUY" or "SELL", quantity, price in paise)."""


@dataclass(frozen=True)
class Outcome:
    """What the parity compares: every fill, the closed round trips, equity at the last close.
    Several symbols' fills carry the symbol after the time (see `rotation.MultiRow`) and are
    compared in (time, symbol) order: venues may list one time's fills in another order."""

    fills: Sequence[tuple[Any, ...]]
    round_trips: int
    final_equity_paise: int


def engine_outcome(run: BacktestRun) -> Outcome:
    return Outcome(
        [(f.ts_ns, f.side.value, f.quantity, f.price_paise) for f in run.fills],
        len(run.round_trips),
        run.final_equity_paise,
    )


def fill_rows(
    ts_ns: npt.NDArray[np.int64],
    is_buy: npt.NDArray[np.bool_],
    quantity: int,
    price_paise: npt.NDArray[np.int64],
) -> list[FillRow]:
    """Fill rows from a vectorised reference's arrays (one entry per fill, in time order)."""
    sides = np.where(is_buy, "BUY", "SELL").tolist()
    return [
        (t, side, quantity, p)
        for t, side, p in zip(ts_ns.tolist(), sides, price_paise.tolist(), strict=True)
    ]


def paise(rupees: float) -> int:
    """backtrader's float rupees -> integer paise, once, at the edge."""
    return round(rupees * 100)


def _wall_ist(ts_ns: int) -> dt.datetime:
    return _EPOCH_IST_WALL + dt.timedelta(microseconds=ts_ns // _NS_PER_US)


def _ts_ns(wall_ist: dt.datetime) -> int:
    return (wall_ist - _EPOCH_IST_WALL) // dt.timedelta(microseconds=1) * _NS_PER_US


class BarSeriesFeed(bt.feed.DataBase):  # type: ignore[misc]
    """Our bars as a backtrader feed: naive IST wall-clock times (as Indian data is usually
    given to backtrader) and rupee floats, each the nearest double to the two-decimal price."""

    params = (("series", None),)

    def start(self) -> None:
        super().start()
        s: BarSeries = self.p.series
        nums = [bt.date2num(_wall_ist(t)) for t in s.ts_ns.tolist()]
        cols = [(a / 100).tolist() for a in (s.open, s.high, s.low, s.close)]
        self._rows = iter(zip(nums, *cols, s.volume.astype(np.float64).tolist(), strict=True))

    def _load(self) -> bool:
        row = next(self._rows, None)
        if row is None:
            return False
        ln = self.lines
        ln.datetime[0], ln.open[0], ln.high[0], ln.low[0], ln.close[0], ln.volume[0] = row
        ln.openinterest[0] = 0.0
        return True


class RecordingStrategy(bt.Strategy):  # type: ignore[misc]
    """Records every execution of its broker and every closed trade, in paise and ns."""

    def __init__(self) -> None:
        self.fills: list[FillRow] = []
        self.closed_trades = 0
        self.refused: list[str] = []

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append(
                (
                    _ts_ns(bt.num2date(ex.dt)),
                    "BUY" if order.isbuy() else "SELL",
                    abs(int(ex.size)),
                    paise(ex.price),
                )
            )
        elif order.status in (order.Margin, order.Rejected, order.Canceled, order.Partial):
            # None of these may happen in a parity run: say so instead of a vague mismatch.
            self.refused.append(f"{order.getstatusname()} at {bt.num2date(order.created.dt)}")

    def notify_trade(self, trade: Any) -> None:
        if trade.isclosed:
            self.closed_trades += 1


def run_backtrader(
    strategy: type[RecordingStrategy], series: BarSeries, cash_paise: int, **params: Any
) -> Outcome:
    """One backtrader run with its default broker: market orders fill at the next bar's open,
    no commission, no slippage; the final value is cash plus the position at the last close."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(
        BarSeriesFeed(
            series=series, name=series.symbol, timeframe=bt.TimeFrame.Minutes, compression=1
        )
    )
    cerebro.addstrategy(strategy, **params)
    cerebro.broker.setcash(cash_paise / 100)
    cerebro.broker.setcommission(commission=0.0)
    (strat,) = cerebro.run()
    assert not strat.refused, f"backtrader refused or cut orders: {strat.refused[:5]}"
    return Outcome(strat.fills, strat.closed_trades, paise(cerebro.broker.getvalue()))


def _show(row: tuple[Any, ...] | None) -> str:
    if row is None:
        return "nothing"
    t, *what, qty, price = row  # what: the side, or the symbol and the side
    when = dt.datetime.fromtimestamp(t // 10**9, tz=IST).strftime("%Y-%m-%d %H:%M")
    return f"{when} {' '.join(what)} {qty} @ {price} paise"


def _first_difference(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def assert_same_outcome(name_a: str, a: Outcome, name_b: str, b: Outcome) -> None:
    """Equal fills (time, side, quantity, paise), round trips and final equity, or an
    AssertionError naming the first fill where the two runs part."""
    i = _first_difference(a.fills, b.fills)
    if i is not None:
        at_a = a.fills[i] if i < len(a.fills) else None
        at_b = b.fills[i] if i < len(b.fills) else None
        raise AssertionError(
            f"fill #{i} differs: {name_a} has {_show(at_a)}, {name_b} has {_show(at_b)} "
            f"({len(a.fills)} fills against {len(b.fills)})"
        )
    if a.round_trips != b.round_trips:
        raise AssertionError(
            f"round trips differ: {name_a} {a.round_trips}, {name_b} {b.round_trips}"
        )
    if a.final_equity_paise != b.final_equity_paise:
        raise AssertionError(
            f"final equity differs: {name_a} {a.final_equity_paise} paise, "
            f"{name_b} {b.final_equity_paise} paise"
        )
