"""Whether bars fall in the exchange's sessions (issue #9, point 9): a bar stamped on a holiday,
a weekend or outside the continuous market cannot have traded, and a backtest that fills on it
is fiction. The loader asks this of every series unless the user allows off-session bars.

Conventions, chosen here:
* a bar is stamped with its open time (Angel One's candles are, angel-one-smartapi.md §3), so
  an intraday bar must open in [09:15, 15:30) IST of a trading day (the continuous market of
  the cash segment, market/calendar.py); the pre-open and post-close are not continuous trading;
* a series whose every bar is stamped 00:00 IST is a daily series: only its days are judged;
* on days outside the calendar's years (it covers only what its tables hold) holidays cannot be
  known, so only the weekday and the regular hours are judged there.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.instruments import Segment
from algo_trading.market.calendar import TradingCalendar

__all__ = ["first_off_session", "session_window"]

_NS_PER_DAY = 86_400 * 10**9
_IST_NS = 19_800 * 10**9
_EPOCH = dt.date(1970, 1, 1)


def first_off_session(
    ts_ns: npt.NDArray[np.int64], calendar: TradingCalendar
) -> tuple[int, str] | None:
    """The index of the first bar outside `calendar`'s sessions and why, or None."""
    if not len(ts_ns):
        return None
    local = ts_ns + _IST_NS
    day = local // _NS_PER_DAY
    step = np.diff(day)
    if (step >= 0).all():  # in time order, as a good file is: no sort needed
        new_day = np.concatenate([[True], step != 0])
        days, inverse = day[new_day], np.cumsum(new_day) - 1
    else:
        days, inverse = np.unique(day, return_inverse=True)
    daily = bool((local % _NS_PER_DAY == 0).all())
    opens = np.zeros(len(days), dtype=np.int64)
    closes = np.zeros(len(days), dtype=np.int64)  # open == close: no bar fits
    shut: dict[int, str] = {}
    for k, number in enumerate(days.tolist()):
        date = _EPOCH + dt.timedelta(days=number)
        window = _window(calendar, date)
        if isinstance(window, str):
            shut[k] = window
            continue
        start = number * _NS_PER_DAY - _IST_NS
        opens[k], closes[k] = (start, start + _NS_PER_DAY) if daily else window
    inside = (opens[inverse] <= ts_ns) & (ts_ns < closes[inverse])
    if inside.all():
        return None
    i = int(np.flatnonzero(~inside)[0])
    stamp = ns_to_ist(int(ts_ns[i])).isoformat()
    k = int(inverse[i])
    if k in shut:
        return i, f"{stamp} is {shut[k]}"
    o, c = ns_to_ist(int(opens[k])), ns_to_ist(int(closes[k]))
    return i, (
        f"{stamp} is outside {calendar.exchange}'s continuous session of that day "
        f"({o:%H:%M} to {c:%H:%M} IST; a bar is stamped with its open time)"
    )


def session_window(calendar: TradingCalendar, date: dt.date) -> tuple[int, int] | str:
    """The continuous cash market of `date` as epoch ns [open, close), or why there is none
    (a holiday, a weekend, a special session whose hours are not tabled)."""
    return _window(calendar, date)


def _window(calendar: TradingCalendar, date: dt.date) -> tuple[int, int] | str:
    """The continuous cash market of `date` as epoch ns [open, close), or why there is none."""
    if not calendar.first_day <= date <= calendar.last_day:
        if date.weekday() >= 5:
            return f"on a {date:%A}, when {calendar.exchange} is shut"
        times = calendar.timetables[0][1]
        for effective, table in calendar.timetables:
            if effective <= date:
                times = table
        start = (date - _EPOCH).days * _NS_PER_DAY - _IST_NS
        window = times.continuous
        return start + _tod_ns(window.start), start + _tod_ns(window.end)
    try:
        session = calendar.session_for(date)
    except ConfigError:  # a session whose hours are not published in our table yet
        special = calendar.special_sessions.get(date)
        name = special.name if special is not None else "special"
        return f"in the {name} session of {date}, whose hours the calendar does not have"
    if session is None:
        holiday = calendar.holiday_name(date)
        if holiday is not None:
            return f"on {date}, a trading holiday of {calendar.exchange} ({holiday})"
        return f"on a {date:%A}, when {calendar.exchange} is shut"
    return session.open_ns(Segment.CASH), session.close_ns(Segment.CASH)


def _tod_ns(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 10**9
