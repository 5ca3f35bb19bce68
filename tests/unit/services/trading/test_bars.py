"""Bars from ticks: the interval holding the tick's exchange time, closed by the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.events import IST
from algo_trading.services.trading.bars import BarBuilder, aggregate_candles

NS = 1_000_000_000
OPEN = int(dt.datetime(2025, 11, 4, 9, 15, tzinfo=IST).timestamp()) * NS
MIN = 60 * NS


def test_ticks_of_one_minute_make_one_bar_closed_when_the_clock_passes_its_end() -> None:
    b = BarBuilder("SBIN-EQ", 1)
    assert b.on_tick(OPEN + 1 * NS, 100_00, 1000) is None
    assert b.on_tick(OPEN + 20 * NS, 101_00, 1010) is None
    assert b.on_tick(OPEN + 40 * NS, 99_50, 1030) is None
    assert b.close_due(OPEN + 59 * NS) is None
    bar = b.close_due(OPEN + MIN)
    assert bar is not None
    assert (bar.ts_ns, bar.open, bar.high, bar.low, bar.close) == (
        OPEN,
        100_00,
        101_00,
        99_50,
        99_50,
    )
    assert bar.volume == 30  # the day's volume grew by 30 within the bar
    assert b.close_due(OPEN + 2 * MIN) is None  # nothing open any more


def test_a_tick_of_the_next_interval_closes_the_previous_bar() -> None:
    b = BarBuilder("SBIN-EQ", 1)
    b.on_tick(OPEN + 5 * NS, 100_00)
    bar = b.on_tick(OPEN + MIN + 1, 102_00)
    assert bar is not None
    assert (bar.ts_ns, bar.close) == (OPEN, 100_00)
    assert b.next_close_ns() == OPEN + 2 * MIN


def test_a_late_tick_after_its_bar_closed_is_dropped_and_counted() -> None:
    b = BarBuilder("SBIN-EQ", 1)
    b.on_tick(OPEN + MIN + 1, 100_00)
    assert b.on_tick(OPEN + 30 * NS, 90_00) is None
    assert b.late_ticks == 1
    bar = b.close_due(OPEN + 2 * MIN)
    assert bar is not None
    assert bar.low == 100_00


def test_five_minute_bars_open_on_the_sessions_grid() -> None:
    b = BarBuilder("SBIN-EQ", 5)
    b.on_tick(OPEN + 7 * MIN, 100_00)  # 09:22 belongs to the 09:20 bar
    bar = b.close_due(OPEN + 10 * MIN)
    assert bar is not None
    assert bar.ts_ns == OPEN + 5 * MIN


def test_an_interval_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        BarBuilder("SBIN-EQ", 0)


@given(st.lists(st.tuples(st.integers(0, 30 * 60), st.integers(1, 10_000)), min_size=1))
def test_bars_from_ticks_agree_with_candles_of_the_same_ticks(
    ticks: list[tuple[int, int]],
) -> None:
    """Built live or aggregated from one-minute candles, the same prices give the same bars."""
    ticks = sorted(ticks)
    live = BarBuilder("X", 5)
    bars = []
    for sec, price in ticks:
        closed = live.on_tick(OPEN + sec * NS, price)
        if closed is not None:
            bars.append(closed)
    last = live.close_due(OPEN + 10**6 * NS)
    assert last is not None
    bars.append(last)
    minute = BarBuilder("X", 1)
    candles = []
    for sec, price in ticks:
        closed = minute.on_tick(OPEN + sec * NS, price)
        if closed is not None:
            candles.append(closed)
    tail = minute.close_due(OPEN + 10**6 * NS)
    assert tail is not None
    candles.append(tail)
    rows = [(c.ts_ns, c.open, c.high, c.low, c.close, 0) for c in candles]
    again = aggregate_candles("X", rows, 5)
    as_tuples = [(b.ts_ns, b.open, b.high, b.low, b.close) for b in bars]
    assert as_tuples == [(b.ts_ns, b.open, b.high, b.low, b.close) for b in again]
