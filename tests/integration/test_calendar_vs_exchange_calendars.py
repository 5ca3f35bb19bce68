"""Our NSE/BSE calendar (market/calendar.py, pure) against the maintained `exchange_calendars`
XBOM calendar for 2025 and 2026 (indian-market.md §3.3).

They must agree everywhere except on the days of KNOWN_DIFFERENCES, and each of those is a reason
our own table exists. A difference that disappears (the package learns a session) fails the test
too, so the list is kept honest in both directions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import exchange_calendars
import pytest

from algo_trading.domain import Exchange
from algo_trading.market.calendar import calendar_for
from algo_trading.market.calendar_data import HOLIDAYS, SPECIAL_SESSIONS

# exchange_calendars 4.13.2 reads `Series.values` on tz-aware data, which pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Series.values returning an ndarray:DeprecationWarning"
)

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
NSE = calendar_for(Exchange.NSE)

KNOWN_DIFFERENCES: dict[dt.date, str] = {
    dt.date(2025, 10, 21): (
        "Muhurat (Samvat 2082), 13:45-14:45 on a trading holiday; XBOM has the holiday and no "
        "session (indian-market.md §2.6, §3.3)"
    ),
    dt.date(2026, 2, 1): (
        "Sunday Union Budget session on the normal timetable; XBOM's special weekmasks stop at "
        "Sat 2025-02-01 (§2.6, §3.3 EC-CODE)"
    ),
    dt.date(2026, 11, 8): (
        "Sunday Muhurat (Diwali Laxmi Pujan), timings unpublished; not in XBOM (§2.6, §3.3)"
    ),
}
"""Days on which our calendar has a session that XBOM lacks."""

# Not compared, because XBOM has one fixed 09:15-15:30 session: the pre-open, the closing auction
# (CTS to 15:15 for CAS stocks from 2026-08-03), the F&O close at 15:40, the post-close (§2.2-§2.4)
# and settlement-only holidays (§3.2). Those come from our table alone.


def _days() -> Iterator[dt.date]:
    for i in range((LAST - FIRST).days + 1):
        yield FIRST + dt.timedelta(days=i)


@pytest.fixture(scope="module")
def xbom() -> Any:
    return exchange_calendars.get_calendar("XBOM", start=FIRST.isoformat(), end=LAST.isoformat())


def _sessions(xbom: Any) -> set[dt.date]:
    return {ts.date() for ts in xbom.sessions}


def _declared_weekend_sessions(xbom: Any) -> set[dt.date]:
    """Weekend days XBOM declares open through its special weekmasks. We read the declaration, not
    `xbom.sessions`: with pandas 3 (seen with exchange_calendars 4.13.2 and pandas 3.1.1) the
    sessions index drops these days, while pandas 2.3 keeps them."""
    declared = set()
    for start, end, mask in xbom.special_weekmasks:
        day = start.date()
        while day <= end.date():
            if day.weekday() >= 5 and mask[day.weekday()] == "1":
                declared.add(day)
            day += dt.timedelta(days=1)
    return {d for d in declared if FIRST <= d <= LAST}


def test_installed_exchange_calendars_has_the_2026_list_with_the_ad_hoc_holiday() -> None:
    # §3.3: 4.12 to 4.13.1 have 2026 but miss 2026-01-15.
    installed = tuple(int(part) for part in version("exchange_calendars").split(".")[:3])
    assert installed >= (4, 13, 2)


def test_weekday_holidays_are_the_same_list(xbom: Any) -> None:
    sessions = _sessions(xbom)
    theirs = {d for d in _days() if d.weekday() < 5 and d not in sessions}
    assert theirs == set(HOLIDAYS)


def test_weekday_sessions_agree_except_the_known_differences(xbom: Any) -> None:
    sessions = _sessions(xbom)
    differ = {d for d in _days() if d.weekday() < 5 and NSE.is_trading_day(d) != (d in sessions)}
    assert differ == {d for d in KNOWN_DIFFERENCES if d.weekday() < 5}


def test_weekend_sessions_agree_except_the_known_differences(xbom: Any) -> None:
    ours = {d for d in SPECIAL_SESSIONS if d.weekday() >= 5}
    theirs = _declared_weekend_sessions(xbom)
    assert theirs <= ours
    assert ours - theirs == {d for d in KNOWN_DIFFERENCES if d.weekday() >= 5}


def test_every_xbom_session_is_one_of_ours(xbom: Any) -> None:
    assert {d for d in _sessions(xbom) if not NSE.is_trading_day(d)} == set()


def test_every_session_both_have_opens_at_0915_and_closes_at_1530_for_cash(xbom: Any) -> None:
    # The cash market of a stock outside the closing auction; see NOT_COMPARED for the rest.
    compared = 0
    for ts, open_, close in zip(xbom.sessions, xbom.opens, xbom.closes, strict=True):
        session = NSE.session_for(ts.date())
        assert session is not None, ts.date()
        assert session.at(session.continuous().start) == open_.to_pydatetime(), ts.date()
        assert session.at(session.continuous().end) == close.to_pydatetime(), ts.date()
        compared += 1
    assert compared >= 490  # both years, not an empty loop
