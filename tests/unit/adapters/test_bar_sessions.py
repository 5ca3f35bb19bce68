"""Bars outside NSE's sessions are refused by the loader when it is given the calendar, naming
the line and the reason (issue #9, point 9); generated bars always fall inside them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from algo_trading.adapters.history import load_bars
from algo_trading.adapters.history.sessions import first_off_session
from algo_trading.backtest import generate_bars
from algo_trading.domain.errors import DataError
from algo_trading.domain.instruments import Exchange
from algo_trading.market.calendar import calendar_for

NSE = calendar_for(Exchange.NSE)
HEADER = "timestamp,open,high,low,close,volume"


def bar(stamp: str) -> str:
    return f"{stamp},100.00,101.00,99.00,100.50,10"


def write(tmp_path: Path, stamps: list[str]) -> Path:
    path = tmp_path / "SBIN.csv"
    path.write_text("\n".join([HEADER, *map(bar, stamps)]) + "\n", encoding="utf-8")
    return path


GOOD_DAY = ["2025-01-02T09:15:00+05:30", "2025-01-02T09:16:00+05:30"]

OFF_SESSION = {
    "holiday": ("2025-02-26T10:00:00+05:30", ["2025-02-26", "holiday", "Mahashivratri"]),
    "saturday": ("2025-01-04T10:00:00+05:30", ["on a Saturday", "shut"]),
    "before-the-open": ("2025-01-03T09:14:00+05:30", ["09:15 to 15:30 IST", "open time"]),
    "at-the-close": ("2025-01-03T15:30:00+05:30", ["09:15 to 15:30 IST"]),
    "pre-open": ("2025-01-03T09:05:00+05:30", ["outside NSE's continuous session"]),
    "muhurat-outside-its-hour": ("2025-10-21T10:00:00+05:30", ["13:45 to 14:45 IST"]),
    "session-without-published-hours": (
        "2026-11-08T18:00:00+05:30",
        ["Muhurat", "hours the calendar does not have"],
    ),
    "weekend-outside-the-calendar-years": ("2031-01-04T10:00:00+05:30", ["on a Saturday"]),
    "night-outside-the-calendar-years": ("2031-01-06T20:00:00+05:30", ["09:15 to 15:30 IST"]),
}


@pytest.mark.parametrize(("stamp", "facts"), list(OFF_SESSION.values()), ids=list(OFF_SESSION))
def test_an_off_session_bar_is_refused_naming_its_line_and_why(
    tmp_path: Path, stamp: str, facts: list[str]
) -> None:
    path = write(tmp_path, [*GOOD_DAY, stamp])

    with pytest.raises(DataError) as info:
        load_bars(path, calendar=NSE)

    message = str(info.value)
    assert "\n" not in message
    assert "row 3 (line 4)" in message
    assert stamp in message
    assert "--allow-off-session accepts it" in message
    for fact in facts:
        assert fact in message


def test_without_the_calendar_off_session_bars_load(tmp_path: Path) -> None:
    [series] = load_bars(write(tmp_path, [*GOOD_DAY, "2025-02-26T10:00:00+05:30"]))
    assert len(series) == 3


def test_bars_in_session_load_including_the_last_minute_and_a_muhurat_hour(
    tmp_path: Path,
) -> None:
    stamps = [*GOOD_DAY, "2025-01-02T15:29:00+05:30", "2025-10-21T13:45:00+05:30"]
    [series] = load_bars(write(tmp_path, stamps), calendar=NSE)
    assert len(series) == 4


def test_a_daily_series_stamped_at_midnight_is_judged_by_its_days(tmp_path: Path) -> None:
    days = ["2025-01-02T00:00:00+05:30", "2025-01-03T00:00:00+05:30"]
    [series] = load_bars(write(tmp_path, days), calendar=NSE)
    assert len(series) == 2

    with pytest.raises(DataError, match=r"line 4\).*on a Saturday"):
        load_bars(write(tmp_path, [*days, "2025-01-04T00:00:00+05:30"]), calendar=NSE)


def test_the_first_off_session_bar_in_file_order_is_named_among_other_problems(
    tmp_path: Path,
) -> None:
    rows = [
        bar(GOOD_DAY[0]),
        bar("2025-01-04T10:00:00+05:30"),
        "2025-01-06T10:00:00+05:30,1,1,2,1,1",
    ]
    path = tmp_path / "SBIN.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    with pytest.raises(DataError, match=r"line 3\).*Saturday"):
        load_bars(path, calendar=NSE)


@pytest.mark.parametrize(
    ("start", "n"),
    [(dt.date(2025, 1, 1), 200_000), (dt.date(2024, 6, 3), 300_000), (dt.date(2026, 11, 2), 3_000)],
)
def test_generated_bars_fall_inside_nses_sessions(start: dt.date, n: int) -> None:
    series = generate_bars(n, start=start)

    assert first_off_session(series.ts_ns, NSE) is None


def test_generated_bars_skip_holidays_and_special_sessions() -> None:
    series = generate_bars(375 * 3, start=dt.date(2025, 2, 25))  # 02-26 is Mahashivratri
    days = sorted({str(np.datetime64(int(t) + 19_800 * 10**9, "ns"))[:10] for t in series.ts_ns})

    assert days == ["2025-02-25", "2025-02-27", "2025-02-28"]


def test_bars_out_of_time_order_are_still_judged_each_on_its_own_day() -> None:
    ts = generate_bars(3, start=dt.date(2025, 2, 27)).ts_ns.copy()
    ts[1] -= 86_400 * 10**9  # onto 2025-02-26, Mahashivratri, before the bar above it

    found = first_off_session(ts, NSE)

    assert found is not None
    assert found[0] == 1
    assert "Mahashivratri" in found[1]
