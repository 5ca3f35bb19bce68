"""NSE and BSE trading calendar (equity cash and F&O): holidays, special sessions, dated session
timetables and the helpers built on them (indian-market.md §2 and §3).

The tables are the project's own, dated and sourced. They agree with `exchange_calendars`' XBOM
except where that package is wrong or silent (Muhurat, weekend sessions, CAS-era times), and
tests/integration/test_calendar_vs_exchange_calendars.py lists each difference with its reason.

Conventions, fixed here once:
* instants are epoch nanoseconds (UTC); IST (UTC+05:30, no daylight saving, §2.1) is used only to
  compare with the session clock, and datetimes handed out are aware and in IST;
* a window [start, end) contains its start and not its end: at 15:30:00 the market is closed;
* `next_open(ts)` is the first open strictly after `ts`; `previous_close(ts)` is the last close at
  or before `ts` (an open or close at `ts` has already happened at `ts`);
* `trading_days_between(first, last)` includes both ends, like a date range in a circular.
Outside the covered years every helper raises ConfigError rather than guess a weekday rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ist_day
from algo_trading.domain.instruments import Exchange, Segment
from algo_trading.market.calendar_data import (
    FIRST_DAY,
    HOLIDAYS,
    LAST_DAY,
    SETTLEMENT_FIRST_DAY,
    SETTLEMENT_ONLY_HOLIDAYS,
    SPECIAL_SESSIONS,
    TIMETABLES,
    Auction,
    SessionKind,
    SessionTimes,
    SpecialSession,
    Window,
)

__all__ = [
    "Auction",
    "Phase",
    "Session",
    "SessionKind",
    "SessionTimes",
    "SpecialSession",
    "TradingCalendar",
    "Window",
    "calendar_for",
]

_NS_PER_DAY = 86_400 * 10**9
_IST_OFFSET_NS = 19_800 * 10**9
_EPOCH = dt.date(1970, 1, 1)


class Phase(StrEnum):
    """What part of a session an instant falls in (§2.2–§2.4)."""

    PRE_OPEN = "pre_open"
    CONTINUOUS = "continuous"
    CLOSING_AUCTION = "closing_auction"
    POST_CLOSE = "post_close"


def _day_start_ns(day: dt.date) -> int:
    """Epoch ns of 00:00 IST on `day`."""
    return (day - _EPOCH).days * _NS_PER_DAY - _IST_OFFSET_NS


def _time_ns(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 10**9 + t.microsecond * 1000


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session: its day, kind and timetable; instants as epoch ns or IST datetimes."""

    day: dt.date
    kind: SessionKind
    times: SessionTimes
    name: str = ""

    def at_ns(self, t: dt.time) -> int:
        """Epoch ns of the IST wall-clock time `t` on this session's day."""
        return _day_start_ns(self.day) + _time_ns(t)

    def at(self, t: dt.time) -> dt.datetime:
        """The aware IST datetime of `t` on this session's day."""
        return dt.datetime.combine(self.day, t, tzinfo=IST)

    def continuous(self, segment: Segment = Segment.CASH, *, cas_stock: bool = False) -> Window:
        """The continuous (normal) market of `segment`; `cas_stock` for a cash stock that goes
        to the closing auction (from 2026-08-03 its continuous trading ends at 15:15, §2.2)."""
        if segment is Segment.FNO:
            return self.times.fno_continuous
        return self.times.continuous_cas if cas_stock else self.times.continuous

    def open_ns(self, segment: Segment = Segment.CASH) -> int:
        return self.at_ns(self.continuous(segment).start)

    def close_ns(self, segment: Segment = Segment.CASH, *, cas_stock: bool = False) -> int:
        return self.at_ns(self.continuous(segment, cas_stock=cas_stock).end)

    def phase_at(
        self, ts_ns: int, segment: Segment = Segment.CASH, *, cas_stock: bool = False
    ) -> Phase | None:
        """The phase `ts_ns` falls in for `segment`, or None between or outside phases. F&O has
        a pre-open only for futures and only from 2025-12-08 (§2.3); no post-close or CAS."""
        tod_ns = ts_ns - _day_start_ns(self.day)
        if not 0 <= tod_ns < _NS_PER_DAY:
            return None
        times = self.times
        if (segment is Segment.CASH or times.fno_pre_open) and _within(
            times.pre_open.window, tod_ns
        ):
            return Phase.PRE_OPEN
        if _within(self.continuous(segment, cas_stock=cas_stock), tod_ns):
            return Phase.CONTINUOUS
        if segment is Segment.FNO:
            return None
        if cas_stock and times.closing_auction and _within(times.closing_auction.window, tod_ns):
            return Phase.CLOSING_AUCTION
        if times.post_close and _within(times.post_close, tod_ns):
            return Phase.POST_CLOSE
        return None


def _within(window: Window, tod_ns: int) -> bool:
    return _time_ns(window.start) <= tod_ns < _time_ns(window.end)


class TradingCalendar:
    """Trading days and sessions of one exchange over the years its tables cover (§3).

    The defaults are the project's tables; pass other mappings to extend a year (NSE publishes
    the next year's list in mid-December) or to supply timings published late (Muhurat 2026).
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        holidays: Mapping[dt.date, str] = HOLIDAYS,
        special_sessions: Mapping[dt.date, SpecialSession] = SPECIAL_SESSIONS,
        timetables: tuple[tuple[dt.date, SessionTimes], ...] = TIMETABLES,
        settlement_only_holidays: Mapping[dt.date, str] = SETTLEMENT_ONLY_HOLIDAYS,
        first_day: dt.date = FIRST_DAY,
        last_day: dt.date = LAST_DAY,
        settlement_first_day: dt.date = SETTLEMENT_FIRST_DAY,
    ) -> None:
        clash = sorted(
            d
            for d, s in special_sessions.items()
            if d in holidays and s.kind is not SessionKind.MUHURAT
        )
        if clash:
            raise ConfigError(f"{exchange} calendar: {clash[0]} is both a holiday and a session")
        if [d for d, _ in timetables] != sorted(d for d, _ in timetables) or not timetables:
            raise ConfigError(
                f"{exchange} calendar: timetables must be non-empty and dated in order"
            )
        self.exchange = exchange
        # Read-only copies: one calendar object is shared by every caller of calendar_for().
        self.holidays: Mapping[dt.date, str] = MappingProxyType(dict(holidays))
        self.special_sessions: Mapping[dt.date, SpecialSession] = MappingProxyType(
            dict(special_sessions)
        )
        self.timetables = timetables
        self.settlement_only_holidays: Mapping[dt.date, str] = MappingProxyType(
            dict(settlement_only_holidays)
        )
        self.first_day = first_day
        self.last_day = last_day
        self.settlement_first_day = settlement_first_day
        # session_for() is asked once per bar by square-off and session checks; the calendar
        # never changes, so each day's answer is built once.
        self._sessions: dict[dt.date, Session | None] = {}

    def with_session_times(self, day: dt.date, times: SessionTimes) -> TradingCalendar:
        """A copy in which the special session of `day` has `times` (e.g. Muhurat timings that
        were notified after our table was written, §2.6)."""
        special = self.special_sessions.get(day)
        if special is None:
            raise ConfigError(f"{self.exchange} calendar: {day} has no special session to time")
        sessions = dict(self.special_sessions)
        sessions[day] = SpecialSession(special.kind, special.name, times, special.settlement)
        return TradingCalendar(
            self.exchange,
            holidays=self.holidays,
            special_sessions=sessions,
            timetables=self.timetables,
            settlement_only_holidays=self.settlement_only_holidays,
            first_day=self.first_day,
            last_day=self.last_day,
            settlement_first_day=self.settlement_first_day,
        )

    def _check_covered(self, day: dt.date) -> None:
        if not self.first_day <= day <= self.last_day:
            raise ConfigError(
                f"{self.exchange} calendar covers {self.first_day} to {self.last_day}; {day} is "
                "outside it: add that year's holidays (market/calendar_data.py)"
            )

    def is_trading_day(self, day: dt.date) -> bool:
        """A weekday that is not a holiday, or a weekend or holiday with a special session."""
        self._check_covered(day)
        if day in self.special_sessions:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def holiday_name(self, day: dt.date) -> str | None:
        """The trading holiday's name, or None (weekends have none). A Muhurat day is a holiday
        with a session: it has both a name here and a session."""
        self._check_covered(day)
        return self.holidays.get(day)

    def session_for(self, day: dt.date) -> Session | None:
        """The session held on `day`, or None if the market is shut; ConfigError if the day is
        a session whose timings are not in the table (Muhurat 2026, §9)."""
        if day in self._sessions:
            return self._sessions[day]
        session = self._build_session(day)
        self._sessions[day] = session
        return session

    def _build_session(self, day: dt.date) -> Session | None:
        if not self.is_trading_day(day):
            return None
        special = self.special_sessions.get(day)
        if special is None:
            return Session(day, SessionKind.REGULAR, self._timetable(day))
        times = special.times
        if times is None and special.kind is SessionKind.SPECIAL:
            times = self._timetable(day)
        if times is None:
            raise ConfigError(
                f"{self.exchange} calendar: the {special.name} session of {day} has no published "
                "timings in our table; supply them with TradingCalendar.with_session_times()"
            )
        return Session(day, special.kind, times, special.name)

    def _timetable(self, day: dt.date) -> SessionTimes:
        chosen = self.timetables[0][1]
        for effective, times in self.timetables:
            if effective > day:
                break
            chosen = times
        return chosen

    def session_at(self, ts_ns: int) -> Session | None:
        """The session of the IST day `ts_ns` falls on (whatever the time of day), or None."""
        return self.session_for(_EPOCH + dt.timedelta(days=ist_day(ts_ns)))

    def phase_at(
        self, ts_ns: int, segment: Segment = Segment.CASH, *, cas_stock: bool = False
    ) -> Phase | None:
        session = self.session_at(ts_ns)
        return None if session is None else session.phase_at(ts_ns, segment, cas_stock=cas_stock)

    def is_open(
        self, ts_ns: int, segment: Segment = Segment.CASH, *, cas_stock: bool = False
    ) -> bool:
        """Whether `ts_ns` is in continuous trading (not the pre-open, auction or post-close)."""
        return self.phase_at(ts_ns, segment, cas_stock=cas_stock) is Phase.CONTINUOUS

    def next_open(self, ts_ns: int, segment: Segment = Segment.CASH) -> int:
        """The first continuous-market open strictly after `ts_ns`, as epoch ns."""
        day = _EPOCH + dt.timedelta(days=ist_day(ts_ns))
        while True:
            session = self.session_for(day)
            if session is not None and session.open_ns(segment) > ts_ns:
                return session.open_ns(segment)
            day += dt.timedelta(days=1)

    def previous_close(
        self, ts_ns: int, segment: Segment = Segment.CASH, *, cas_stock: bool = False
    ) -> int:
        """The last continuous-market close at or before `ts_ns`, as epoch ns."""
        day = _EPOCH + dt.timedelta(days=ist_day(ts_ns))
        while True:
            session = self.session_for(day)
            if session is not None and session.close_ns(segment, cas_stock=cas_stock) <= ts_ns:
                return session.close_ns(segment, cas_stock=cas_stock)
            day -= dt.timedelta(days=1)

    def trading_days_between(
        self, first: dt.date, last: dt.date, *, regular_only: bool = False
    ) -> tuple[dt.date, ...]:
        """Trading days from `first` to `last`, both included; empty if `first` > `last`.
        `regular_only` leaves out weekend and Muhurat sessions."""
        if first > last:
            return ()
        self._check_covered(first)
        self._check_covered(last)
        days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        return tuple(d for d in days if self._is_day(d, regular_only))

    def _is_day(self, day: dt.date, regular_only: bool) -> bool:
        if regular_only:
            return self.is_trading_day(day) and day not in self.special_sessions
        return self.is_trading_day(day)

    def next_trading_day(self, day: dt.date, *, regular_only: bool = False) -> dt.date:
        """The first trading day strictly after `day`."""
        day += dt.timedelta(days=1)
        while not self._is_day(day, regular_only):
            day += dt.timedelta(days=1)
        return day

    def previous_trading_day(self, day: dt.date, *, regular_only: bool = False) -> dt.date:
        """The last trading day strictly before `day`. An expiry that falls on a holiday moves to
        the previous regular day (§4.6): pass `regular_only`, since a Muhurat session on a holiday
        (2025-10-21) is a trading day but no expiry moves onto it."""
        day -= dt.timedelta(days=1)
        while not self._is_day(day, regular_only):
            day -= dt.timedelta(days=1)
        return day

    def is_settlement_day(self, day: dt.date) -> bool:
        """Whether clearing settles on `day`: a regular trading day that is not a settlement-only
        holiday (§3.2). Weekend and Muhurat sessions are settlement holidays (§2.6)."""
        if day < self.settlement_first_day:
            raise ConfigError(
                f"{self.exchange} calendar: settlement holidays are tabled from "
                f"{self.settlement_first_day}; {day} is before that"
            )
        if not self.is_trading_day(day) or day in self.settlement_only_holidays:
            return False
        special = self.special_sessions.get(day)
        return special is None or special.settlement


_CALENDARS = {
    # NSE and BSE publish one list for equity and equity derivatives (§3); F&O follow their
    # exchange's cash calendar.
    Exchange.NSE: TradingCalendar(Exchange.NSE),
    Exchange.BSE: TradingCalendar(Exchange.BSE),
}


def calendar_for(exchange: Exchange) -> TradingCalendar:
    """The project's calendar of `exchange` (NFO uses NSE's, BFO uses BSE's)."""
    if exchange is Exchange.NFO:
        return _CALENDARS[Exchange.NSE]
    if exchange is Exchange.BFO:
        return _CALENDARS[Exchange.BSE]
    return _CALENDARS[exchange]
