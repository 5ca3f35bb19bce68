"""Peer parity for the opening-range breakout (issue #2): our engine, a numpy reference
vectorised per day and backtrader agree on every fill, the round trips and the final equity to
the paisa, on 160 generated NSE days of 1-minute bars.

The rules, as `OpeningRangeBreakout(minutes=15, exit_time="15:10", allow_short=True)` applies
them to a day of 375 bars (index j, 09:15 + j minutes): the range is the highest high and lowest
low of bars 0-14. From bar 15 to bar 354, while flat and not yet in a trade today, a close above
the range high buys and a close below the range low sells short (one entry a day). While in the
position (from the bar its entry filled on), a close back through the other side of the range
closes it; at bar 355 (15:10) any position still open is closed. Every order is a market order
that fills at the next bar's open, so the latest fill of a day is at bar 356 and every day ends
flat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import BacktestConfig, generate_bars, run_backtest
from algo_trading.backtest.synthetic import BARS_PER_DAY
from algo_trading.strategy.builtin.opening_range_breakout import OpeningRangeBreakout
from tests.support.parity import (
    IST,
    Outcome,
    RecordingStrategy,
    assert_same_outcome,
    engine_outcome,
    fill_rows,
    paise,
    run_backtrader,
)

pytestmark = pytest.mark.slow

DAYS = 160
SEED = 7
RANGE_BARS = 15
EXIT_BAR = 355  # 15:10 is 355 minutes after 09:15
QUANTITY = 100
CASH_PAISE = 1_000_000_00


def reference(s: BarSeries, quantity: int, cash_paise: int) -> Outcome:
    """One row per day; each day's entry and exit found with argmax over boolean masks."""
    n = len(s)
    assert n % BARS_PER_DAY == 0, "the reference needs whole 09:15-15:29 days"
    days = n // BARS_PER_DAY
    shape = (days, BARS_PER_DAY)
    high, low = s.high.reshape(shape), s.low.reshape(shape)
    close, open_ = s.close.reshape(shape), s.open.reshape(shape)
    top = high[:, :RANGE_BARS].max(axis=1)[:, None]
    bottom = low[:, :RANGE_BARS].min(axis=1)[:, None]
    window = close[:, RANGE_BARS:EXIT_BAR]  # bars where an entry or an early exit is decided
    above, below = window > top, window < bottom
    breakout = above | below
    traded = breakout.any(axis=1)
    entry = breakout.argmax(axis=1)  # window column of the entry signal
    is_long = above[np.arange(days), entry]
    column = np.arange(window.shape[1])
    back = np.where(is_long[:, None], below, above) & (column > entry[:, None])
    exit_ = np.where(back.any(axis=1), back.argmax(axis=1), EXIT_BAR - RANGE_BARS)
    day = np.flatnonzero(traded)
    entry_at = day * BARS_PER_DAY + entry[day] + RANGE_BARS + 1  # fills at the next open
    exit_at = day * BARS_PER_DAY + exit_[day] + RANGE_BARS + 1
    at = np.column_stack((entry_at, exit_at)).ravel()  # entry, exit, entry, exit, ...
    is_buy = np.column_stack((is_long[day], ~is_long[day])).ravel()
    price = open_.ravel()[at]
    flows = np.where(is_buy, -price, price) * quantity
    return Outcome(
        fill_rows(s.ts_ns[at], is_buy, quantity, price),
        len(day),
        cash_paise + int(flows.sum()),  # flat at every day's end
    )


class PeerOpeningRange(RecordingStrategy):
    """The same rule on backtrader, reading the IST wall-clock time backtrader keeps."""

    params = (("minutes", RANGE_BARS), ("exit_time", dt.time(15, 10)), ("quantity", QUANTITY))

    def __init__(self) -> None:
        super().__init__()
        self.day: dt.date | None = None
        self.top = 0
        self.bottom = 0
        self.traded = False

    def next(self) -> None:
        p: Any = self.p
        now = self.data.datetime.datetime(0)
        high, low, close = (paise(x[0]) for x in (self.data.high, self.data.low, self.data.close))
        if now.date() != self.day:
            self.day, self.top, self.bottom, self.traded = now.date(), high, low, False
        minute = now.hour * 60 + now.minute
        if minute < 9 * 60 + 15 + p.minutes:
            self.top, self.bottom = max(self.top, high), min(self.bottom, low)
            return
        size = self.position.size
        if now.time() >= p.exit_time:
            if size:
                self.close()
            return
        if (size > 0 and close < self.bottom) or (size < 0 and close > self.top):
            self.close()
        elif size == 0 and not self.traded:
            if close > self.top:
                self.buy(size=p.quantity)
                self.traded = True
            elif close < self.bottom:
                self.sell(size=p.quantity)
                self.traded = True


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return generate_bars(DAYS * BARS_PER_DAY, seed=SEED)


@pytest.fixture(scope="module")
def ours(bars: BarSeries) -> Outcome:
    run = run_backtest(
        OpeningRangeBreakout(
            OpeningRangeBreakout.Params(minutes=RANGE_BARS, exit_time="15:10", allow_short=True),
            quantity=QUANTITY,
        ),
        [bars],
        BacktestConfig(cash_paise=CASH_PAISE),
    )
    return engine_outcome(run)


@pytest.fixture(scope="module")
def numpy_ref(bars: BarSeries) -> Outcome:
    return reference(bars, QUANTITY, CASH_PAISE)


@pytest.fixture(scope="module")
def peer(bars: BarSeries) -> Outcome:
    return run_backtrader(PeerOpeningRange, bars, CASH_PAISE)


def test_the_run_has_enough_trades_of_both_directions_for_parity_to_mean_something(
    ours: Outcome,
) -> None:
    assert ours.round_trips > 100
    entries, exits = ours.fills[0::2], ours.fills[1::2]
    assert {side for _, side, _, _ in entries} == {"BUY", "SELL"}
    # Both ways out are taken: back through the range, and the 15:10 exit (filled at 15:11).
    at_1511 = sum(
        1
        for t, _, _, _ in exits
        if dt.datetime.fromtimestamp(t // 10**9, IST).time() == dt.time(15, 11)
    )
    assert 0 < at_1511 < len(exits)


def test_engine_matches_the_numpy_reference_fill_for_fill_to_the_paisa(
    ours: Outcome, numpy_ref: Outcome
) -> None:
    assert_same_outcome("engine", ours, "numpy", numpy_ref)


def test_engine_matches_backtrader_fill_for_fill_to_the_paisa(ours: Outcome, peer: Outcome) -> None:
    assert_same_outcome("engine", ours, "backtrader", peer)


def _days_of_bars(open_: npt.NDArray[np.int64], close: npt.NDArray[np.int64]) -> BarSeries:
    """Whole sessions from 2024-01-01 (a Monday) on, one row per day; high and low 0.05
    beyond the open and close."""
    days, per_day = close.shape
    first_0915_utc_ns = (19_723 * 86_400 + 3 * 3600 + 45 * 60) * 10**9
    ts = first_0915_utc_ns + np.add.outer(
        np.arange(days, dtype=np.int64) * 86_400 * 10**9,
        np.arange(per_day, dtype=np.int64) * 60 * 10**9,
    )
    return BarSeries(
        "T",
        ts.ravel(),
        open_.ravel(),
        (np.maximum(open_, close) + 5).ravel(),
        (np.minimum(open_, close) - 5).ravel(),
        close.ravel(),
        np.full(close.size, 100, dtype=np.int64),
    )


def test_the_reference_and_the_engine_keep_the_edges_of_the_strategy() -> None:
    close = np.full((2, BARS_PER_DAY), 1000, dtype=np.int64)
    open_ = close.copy()
    # Day 0: the range is 995-1005. A close equal to the range high is no breakout; a breakout
    # on the bar before 15:10 fills at the 15:10 open and is closed at the 15:11 open.
    close[0, 100] = 1005
    close[0, EXIT_BAR - 1] = 1010
    open_[0, EXIT_BAR], open_[0, EXIT_BAR + 1] = 1015, 995
    # Day 1: a short at once, stopped out by the next close above the range high, and no
    # second entry that day although the close stays above the range.
    close[1, RANGE_BARS] = 990
    close[1, RANGE_BARS + 1 :] = 1010
    open_[1, RANGE_BARS + 1], open_[1, RANGE_BARS + 2] = 985, 1020
    series = _days_of_bars(open_, close)
    ref = reference(series, 10, 0)
    bar_of_day = [(t - series.ts_ns[0]) // (60 * 10**9) % 1440 for t, _, _, _ in ref.fills]
    assert bar_of_day == [EXIT_BAR, EXIT_BAR + 1, RANGE_BARS + 1, RANGE_BARS + 2]
    assert [(side, price) for _, side, _, price in ref.fills] == [
        ("BUY", 1015),
        ("SELL", 995),
        ("SELL", 985),
        ("BUY", 1020),
    ]
    assert ref.round_trips == 2
    assert ref.final_equity_paise == (995 - 1015 + 985 - 1020) * 10
    # Equity counted from zero cash, so buying power is off (margins=None): the edges of the
    # rules are under test here, not the funds behind them.
    run = run_backtest(
        OpeningRangeBreakout(quantity=10), [series], BacktestConfig(cash_paise=0, margins=None)
    )
    assert_same_outcome("engine", engine_outcome(run), "numpy", ref)
