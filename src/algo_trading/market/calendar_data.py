"""The calendar's tables: holidays, special sessions, settlement holidays and session timetables of
NSE and BSE equity and equity derivatives, each row dated and sourced (indian-market.md §2, §3).

This is the project's own override table. It agrees with `exchange_calendars` XBOM on every
weekday holiday of 2025 and 2026 and adds what that package does not model; the integration test
tests/integration/test_calendar_vs_exchange_calendars.py names each difference. To add a year,
append its holidays from the exchange circular (published mid-December) and move LAST_DAY.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from algo_trading.domain.errors import ConfigError

__all__ = [
    "FIRST_DAY",
    "HOLIDAYS",
    "LAST_DAY",
    "SETTLEMENT_FIRST_DAY",
    "SETTLEMENT_ONLY_HOLIDAYS",
    "SPECIAL_SESSIONS",
    "TIMETABLES",
    "Auction",
    "SessionKind",
    "SessionTimes",
    "SpecialSession",
    "Window",
]


class SessionKind(StrEnum):
    REGULAR = "regular"
    SPECIAL = "special"  # a live session on a weekend (Union Budget), on the normal timetable
    MUHURAT = "muhurat"  # Diwali session with its own short timetable, often on a holiday


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in IST wall-clock time."""

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigError(f"session window {self.start}-{self.end} does not go forward")


@dataclass(frozen=True, slots=True)
class Auction:
    """A call auction: its whole window, the part that accepts orders (which closes at a random
    moment in its last one or two minutes), and until when market orders are accepted (§2.3)."""

    window: Window
    order_entry: Window
    market_orders_until: dt.time


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """The timetable of one day (§2.2–§2.4). `continuous` is the cash market for stocks outside
    the closing auction; `continuous_cas` for stocks in it (equal before 2026-08-03)."""

    pre_open: Auction
    continuous: Window
    continuous_cas: Window
    fno_continuous: Window
    closing_auction: Auction | None
    post_close: Window | None
    fno_pre_open: bool  # futures join the pre-open from 2025-12-08; options never do


@dataclass(frozen=True, slots=True)
class SpecialSession:
    """A session on a day that is otherwise shut. `times` None means: the regular timetable for
    SPECIAL, not yet known for MUHURAT. `settlement`: whether clearing settles that day."""

    kind: SessionKind
    name: str
    times: SessionTimes | None = None
    settlement: bool = False


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _w(start: str, end: str) -> Window:
    return Window(_t(start), _t(end))


# Until 2026-08-02: pre-open order entry 09:00-09:08 (random close in the 8th minute), matching
# 09:08-09:12, buffer to 09:15; CTS 09:15-15:30; post-close 15:40-16:00 (§2.2, §2.3; PRESS NDTV
# Profit 2026-01).
_BEFORE_CAS = SessionTimes(
    pre_open=Auction(_w("09:00", "09:15"), _w("09:00", "09:08"), _t("09:08")),
    continuous=_w("09:15", "15:30"),
    continuous_cas=_w("09:15", "15:30"),
    fno_continuous=_w("09:15", "15:30"),
    closing_auction=None,
    post_close=_w("15:40", "16:00"),
    fno_pre_open=False,
)
# 2025-12-08: current-month futures join the pre-open (§2.3, PRESS Business Standard 2025-12-08).
# BSE's live date for this is unconfirmed (§9); we assume NSE's.
_FNO_PRE_OPEN = SessionTimes(
    pre_open=_BEFORE_CAS.pre_open,
    continuous=_BEFORE_CAS.continuous,
    continuous_cas=_BEFORE_CAS.continuous_cas,
    fno_continuous=_BEFORE_CAS.fno_continuous,
    closing_auction=None,
    post_close=_BEFORE_CAS.post_close,
    fno_pre_open=True,
)
# 2026-08-03: closing auction session for stocks with derivatives: CTS to 15:15, reference price
# 15:15-15:20, orders 15:20-15:30 (market orders to 15:25, random close 15:28-15:30), matching to
# 15:35; F&O trade to 15:40; post-close 15:50-16:00 (§2.4; CIRC NSE 2026-05-29, BSE 2026-08-01).
# Non-CAS stocks trading on to 15:30 is the spec's **unconfirmed** reading (§9).
_CAS = SessionTimes(
    pre_open=_BEFORE_CAS.pre_open,
    continuous=_w("09:15", "15:30"),
    continuous_cas=_w("09:15", "15:15"),
    fno_continuous=_w("09:15", "15:40"),
    closing_auction=Auction(_w("15:15", "15:35"), _w("15:20", "15:30"), _t("15:25")),
    post_close=_w("15:50", "16:00"),
    fno_pre_open=True,
)
# 2026-09-07: pre-open order entry 09:00-09:10, market orders only to 09:05, random close
# 09:08-09:10, matching 09:10-09:12 (§2.3; CIRC NSE 2026-07-01; BSE's date unconfirmed, assumed).
_CAS_PRE_OPEN_SPLIT = SessionTimes(
    pre_open=Auction(_w("09:00", "09:15"), _w("09:00", "09:10"), _t("09:05")),
    continuous=_CAS.continuous,
    continuous_cas=_CAS.continuous_cas,
    fno_continuous=_CAS.fno_continuous,
    closing_auction=_CAS.closing_auction,
    post_close=_CAS.post_close,
    fno_pre_open=True,
)

TIMETABLES: tuple[tuple[dt.date, SessionTimes], ...] = (
    (dt.date.min, _BEFORE_CAS),
    (dt.date(2025, 12, 8), _FNO_PRE_OPEN),
    (dt.date(2026, 8, 3), _CAS),
    (dt.date(2026, 9, 7), _CAS_PRE_OPEN_SPLIT),
)
"""Regular-day timetables by the date each takes effect (§7)."""

FIRST_DAY = dt.date(2025, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)

_HOLIDAYS: dict[dt.date, str] = {
    # 2025 (§3.1): as encoded, with names, in exchange_calendars and pandas_market_calendars, which
    # cite the exchanges' holiday pages. 2025-09-08 was a settlement-only holiday, not here.
    dt.date(2025, 2, 26): "Mahashivratri",
    dt.date(2025, 3, 14): "Holi",
    dt.date(2025, 3, 31): "Id-Ul-Fitr (Ramadan Eid)",
    dt.date(2025, 4, 10): "Shri Mahavir Jayanti",
    dt.date(2025, 4, 14): "Dr. Baba Saheb Ambedkar Jayanti",
    dt.date(2025, 4, 18): "Good Friday",
    dt.date(2025, 5, 1): "Maharashtra Day",
    dt.date(2025, 8, 15): "Independence Day / Parsi New Year",
    dt.date(2025, 8, 27): "Shri Ganesh Chaturthi",
    dt.date(2025, 10, 2): "Mahatma Gandhi Jayanti / Dussehra",
    dt.date(2025, 10, 21): "Diwali Laxmi Pujan",
    dt.date(2025, 10, 22): "Diwali Balipratipada",
    dt.date(2025, 11, 5): "Prakash Gurpurb Sri Guru Nanak Dev",
    dt.date(2025, 12, 25): "Christmas",
    # 2026 (§3.2): NSE circular NSE/CMTR/71775 and BSE notice 20251212-8, both 2025-12-12, plus
    # the ad hoc 2026-01-15 (declared 2026-01-12, CIRC NSE 2026-01-12). Weekend holidays of the
    # circular (02-15, 03-21, 08-15, 11-08) are left out: the weekend already shuts the market.
    dt.date(2026, 1, 15): "Municipal Corporation elections in Maharashtra (ad hoc)",
    dt.date(2026, 1, 26): "Republic Day",
    dt.date(2026, 3, 3): "Holi",
    dt.date(2026, 3, 26): "Shri Ram Navami",
    dt.date(2026, 3, 31): "Shri Mahavir Jayanti",
    dt.date(2026, 4, 3): "Good Friday",
    dt.date(2026, 4, 14): "Dr. Baba Saheb Ambedkar Jayanti",
    dt.date(2026, 5, 1): "Maharashtra Day",
    dt.date(2026, 5, 28): "Bakri Id",
    dt.date(2026, 6, 26): "Muharram",
    dt.date(2026, 9, 14): "Ganesh Chaturthi",
    dt.date(2026, 10, 2): "Mahatma Gandhi Jayanti",
    dt.date(2026, 10, 20): "Dussehra",
    dt.date(2026, 11, 10): "Diwali-Balipratipada",
    dt.date(2026, 11, 24): "Prakash Gurpurb Sri Guru Nanak Dev",
    dt.date(2026, 12, 25): "Christmas",
}
HOLIDAYS: Mapping[dt.date, str] = MappingProxyType(_HOLIDAYS)
"""Weekday trading holidays of NSE and BSE (one list for equity and equity derivatives, §3)."""

# Muhurat 2025 (Samvat 2082): pre-open 13:30-13:45, normal market and F&O 13:45-14:45, closing
# session 14:55-15:05 (§2.6; PRESS NDTV Profit 2025-09-22, DNA 2025-10-17). The split of its
# pre-open is not published; we assume the regular one's shape (8 minutes of order entry).
_MUHURAT_2025 = SessionTimes(
    pre_open=Auction(_w("13:30", "13:45"), _w("13:30", "13:38"), _t("13:38")),
    continuous=_w("13:45", "14:45"),
    continuous_cas=_w("13:45", "14:45"),
    fno_continuous=_w("13:45", "14:45"),
    closing_auction=None,
    post_close=_w("14:55", "15:05"),
    fno_pre_open=False,  # before F&O joined the pre-open on 2025-12-08
)

_SPECIAL_SESSIONS: dict[dt.date, SpecialSession] = {
    # Sat 2025-02-01, Union Budget: normal timetable (ZSUP bulletin 2024-12-23). Whether it was a
    # settlement holiday is not in the spec; we assume so, as for the 2026 Budget Sunday.
    dt.date(2025, 2, 1): SpecialSession(SessionKind.SPECIAL, "Union Budget"),
    # Tue 2025-10-21 is a trading holiday with a Muhurat session; a settlement holiday (AO, §2.6).
    dt.date(2025, 10, 21): SpecialSession(
        SessionKind.MUHURAT, "Muhurat (Samvat 2082)", _MUHURAT_2025
    ),
    # Sun 2026-02-01, Union Budget: normal timetable, settlement holiday (§2.6; PRESS Business
    # Standard 2026-01-16/30).
    dt.date(2026, 2, 1): SpecialSession(SessionKind.SPECIAL, "Union Budget"),
    # Sun 2026-11-08, Diwali Laxmi Pujan: Muhurat announced (CIRC NSE 2025-12-12), timings "to be
    # notified" and **unconfirmed** (§9): the calendar refuses to guess an hour until they are
    # supplied with TradingCalendar.with_session_times().
    dt.date(2026, 11, 8): SpecialSession(SessionKind.MUHURAT, "Muhurat (Diwali Laxmi Pujan)"),
}
SPECIAL_SESSIONS: Mapping[dt.date, SpecialSession] = MappingProxyType(_SPECIAL_SESSIONS)

SETTLEMENT_FIRST_DAY = dt.date(2026, 1, 1)
"""The 2025 settlement-holiday list was not read (only 2025-09-08 is known), so settlement
questions are answered from 2026 on."""

_SETTLEMENT_ONLY_HOLIDAYS: dict[dt.date, str] = {
    # Trading open, no pay-in or pay-out (§3.2; NSE Clearing CM and F&O circulars, CIRC 2025-12-22).
    dt.date(2026, 2, 19): "Chhatrapati Shivaji Maharaj Jayanti",
    dt.date(2026, 3, 19): "Gudhi Padwa",
    dt.date(2026, 4, 1): "Annual bank closing",
    dt.date(2026, 8, 26): "Id-E-Milad",
}
SETTLEMENT_ONLY_HOLIDAYS: Mapping[dt.date, str] = MappingProxyType(_SETTLEMENT_ONLY_HOLIDAYS)
