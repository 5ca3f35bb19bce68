"""`data fetch`'s range rules and plan: dates in IST, reversed or future ranges refused, the
span cut to the interval's maximum, and spans already fetched left out."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument
from algo_trading.engine.ports import BarKey
from algo_trading.services.history_fetch import (
    check_exchange,
    check_interval,
    day_bounds_ns,
    fetch_range,
    plan_fetch,
)

NOW = dt.datetime(2025, 6, 10, 11, 7, 42, tzinfo=IST)


def _sbin() -> Instrument:
    return Instrument("SBIN-EQ", Exchange.NSE, InstrumentToken("3045"))


def test_dates_mean_whole_ist_days() -> None:
    start, end = fetch_range("2025-01-01", "2025-01-31", NOW)
    assert start == dt.datetime(2025, 1, 1, tzinfo=IST)
    assert end == dt.datetime(2025, 2, 1, tzinfo=IST)


def test_a_fetch_of_today_stops_at_the_current_minute() -> None:
    _, end = fetch_range("2025-06-01", "2025-06-10", NOW)
    assert end == dt.datetime(2025, 6, 10, 11, 7, tzinfo=IST)


@pytest.mark.parametrize(
    ("frm", "to", "message"),
    [
        ("2025-03-01", "2025-01-31", "reversed"),
        ("2025-06-11", "2025-06-12", "--from 2025-06-11 is in the future"),
        ("2025-06-01", "2025-06-11", "--to 2025-06-11 is in the future"),
        ("yesterday", "2025-06-01", "--from 'yesterday' is not a date"),
        ("2025-02-30", "2025-03-01", "--from '2025-02-30' is not a date"),
    ],
)
def test_bad_ranges_are_refused_with_one_line(frm: str, to: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        fetch_range(frm, to, NOW)


def test_unknown_interval_and_exchange_are_refused() -> None:
    with pytest.raises(ConfigError, match="TWO_MINUTE"):
        check_interval("TWO_MINUTE")
    with pytest.raises(ConfigError, match="LSE"):
        check_exchange("LSE")
    assert check_exchange("nse") is Exchange.NSE


def test_backtest_bounds_may_be_open_but_not_reversed() -> None:
    assert day_bounds_ns(None, None) == (None, None)
    with pytest.raises(ConfigError, match="reversed"):
        day_bounds_ns("2025-02-01", "2025-01-01")


def test_the_plan_cuts_the_span_to_thirty_day_requests(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    start, end = fetch_range("2025-01-01", "2025-03-31", NOW)
    plan = plan_fetch(store, [_sbin()], "ONE_MINUTE", start, end)
    chunks = plan.symbols[0].chunks
    assert len(chunks) == 3
    assert chunks[0].start == start
    assert chunks[-1].end == end - dt.timedelta(minutes=1)
    for a, b in itertools.pairwise(chunks):
        assert b.start == a.end + dt.timedelta(minutes=1)  # nothing asked twice, nothing skipped
        assert a.end - a.start <= dt.timedelta(days=30)


def test_spans_already_fetched_are_left_out_unless_forced(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    start, end = fetch_range("2025-01-01", "2025-03-31", NOW)
    key = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
    first = plan_fetch(store, [_sbin()], "ONE_MINUTE", start, end).symbols[0].chunks[0]
    store.mark_fetched(key, *first.span_ns)
    rest = plan_fetch(store, [_sbin()], "ONE_MINUTE", start, end).symbols[0].chunks
    assert len(rest) == 2
    assert rest[0].start == first.end + dt.timedelta(minutes=1)
    forced = plan_fetch(store, [_sbin()], "ONE_MINUTE", start, end, force=True)
    assert len(forced.symbols[0].chunks) == 3
