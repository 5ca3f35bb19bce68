"""NSE/BSE calendar (market/calendar.py): every 2025 and 2026 holiday pinned from
indian-market.md §3, special sessions (§2.6), dated timetables (§2.2–§2.4) and the helpers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import IST, ConfigError, Exchange, Segment
from algo_trading.market.calendar import (
    Phase,
    SessionKind,
    SpecialSession,
    TradingCalendar,
    Window,
    calendar_for,
)
from algo_trading.market.calendar_data import HOLIDAYS, TIMETABLES, SessionTimes

# Copied by hand from indian-market.md §3.1 and §3.2, not from the table under test, so that a
# change to either shows up here.
HOLIDAYS_2025 = [
    "2025-02-26", "2025-03-14", "2025-03-31", "2025-04-10", "2025-04-14", "2025-04-18",
    "2025-05-01", "2025-08-15", "2025-08-27", "2025-10-02", "2025-10-21", "2025-10-22",
    "2025-11-05", "2025-12-25",
]  # fmt: skip
HOLIDAYS_2026 = [
    "2026-01-15", "2026-01-26", "2026-03-03", "2026-03-26", "2026-03-31", "2026-04-03",
    "2026-04-14", "2026-05-01", "2026-05-28", "2026-06-26", "2026-09-14", "2026-10-02",
    "2026-10-20", "2026-11-10", "2026-11-24", "2026-12-25",
]  # fmt: skip

NSE = calendar_for(Exchange.NSE)
D = dt.date.fromisoformat
T = dt.time.fromisoformat


def ns(day: str, time: str) -> int:
    """Epoch ns of an IST wall-clock time, e.g. ns("2025-04-17", "15:30")."""
    return int(dt.datetime.combine(D(day), T(time), tzinfo=IST).timestamp()) * 10**9


def muhurat_2026_times() -> SessionTimes:
    """Stand-in timings for the unpublished Muhurat 2026 session: the 2025 ones."""
    session = NSE.session_for(D("2025-10-21"))
    assert session is not None
    return session.times


@pytest.mark.parametrize("day", HOLIDAYS_2025 + HOLIDAYS_2026)
def test_every_2025_and_2026_holiday_of_the_spec_is_a_named_weekday_holiday(day: str) -> None:
    assert D(day).weekday() < 5
    assert NSE.holiday_name(D(day))


@pytest.mark.parametrize("day", HOLIDAYS_2025 + HOLIDAYS_2026)
def test_bse_shares_the_nse_holiday_list(day: str) -> None:
    assert calendar_for(Exchange.BSE).holiday_name(D(day)) == NSE.holiday_name(D(day))


def test_the_table_has_no_weekday_holiday_beyond_the_spec() -> None:
    assert sorted(HOLIDAYS) == sorted(D(d) for d in HOLIDAYS_2025 + HOLIDAYS_2026)


@pytest.mark.parametrize("day", [d for d in HOLIDAYS_2025 + HOLIDAYS_2026 if d != "2025-10-21"])
def test_a_holiday_has_no_session(day: str) -> None:
    assert not NSE.is_trading_day(D(day))
    assert NSE.session_for(D(day)) is None
    assert not NSE.is_open(ns(day, "11:00"))


@pytest.mark.parametrize(
    ("year", "weekday_sessions", "all_sessions"),
    # §3.2's derived counts: 247 and 245 weekday sessions, plus a Budget and a Muhurat session.
    [(2025, 247, 249), (2026, 245, 247)],
)
def test_sessions_per_year_match_the_spec_arithmetic(
    year: int, weekday_sessions: int, all_sessions: int
) -> None:
    cal = NSE.with_session_times(D("2026-11-08"), muhurat_2026_times())
    days = cal.trading_days_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    regular = cal.trading_days_between(
        dt.date(year, 1, 1), dt.date(year, 12, 31), regular_only=True
    )
    assert len(days) == all_sessions
    assert len(regular) == weekday_sessions


def test_weekends_are_shut_and_a_settlement_only_holiday_still_trades() -> None:
    assert not NSE.is_trading_day(D("2025-03-01"))  # Saturday
    assert not NSE.is_trading_day(D("2026-03-22"))  # Sunday
    assert NSE.session_for(D("2026-03-21")) is None  # Id-Ul-Fitr on a Saturday
    assert NSE.is_trading_day(D("2025-09-08"))  # Id-e-Milad: settlement holiday only (§3.1)
    assert NSE.is_open(ns("2026-02-19", "10:00"))  # settlement holiday only (§3.2)


@pytest.mark.parametrize(("day", "kind"), [("2025-02-01", "Sat"), ("2026-02-01", "Sun")])
def test_budget_day_weekend_sessions_run_the_normal_timetable(day: str, kind: str) -> None:
    session = NSE.session_for(D(day))
    assert session is not None
    assert session.kind is SessionKind.SPECIAL
    assert D(day).strftime("%a") == kind
    assert NSE.is_open(ns(day, "09:15"))
    assert NSE.phase_at(ns(day, "09:05")) is Phase.PRE_OPEN
    assert not NSE.is_open(ns(day, "15:30"))


def test_muhurat_2025_is_a_short_afternoon_session_on_a_holiday() -> None:
    day = "2025-10-21"
    assert NSE.holiday_name(D(day)) == "Diwali Laxmi Pujan"
    assert NSE.is_trading_day(D(day))
    assert not NSE.is_open(ns(day, "10:00"))
    assert NSE.phase_at(ns(day, "13:30")) is Phase.PRE_OPEN
    assert NSE.phase_at(ns(day, "13:30"), Segment.FNO) is None  # F&O pre-open came 2025-12-08
    assert NSE.is_open(ns(day, "13:45"))
    assert NSE.is_open(ns(day, "14:44"), Segment.FNO)
    assert not NSE.is_open(ns(day, "14:45"))
    assert NSE.phase_at(ns(day, "14:50")) is None
    assert NSE.phase_at(ns(day, "15:00")) is Phase.POST_CLOSE


def test_muhurat_2026_is_a_session_whose_unpublished_timings_must_be_supplied() -> None:
    day = D("2026-11-08")
    assert NSE.is_trading_day(day)
    with pytest.raises(ConfigError, match="2026-11-08 has no published timings"):
        NSE.session_for(day)
    with pytest.raises(ConfigError, match="no published timings"):
        NSE.next_open(ns("2026-11-06", "16:00"))
    timed = NSE.with_session_times(day, muhurat_2026_times())
    assert timed.next_open(ns("2026-11-06", "16:00")) == ns("2026-11-08", "13:45")


def test_only_a_special_session_can_be_given_times() -> None:
    with pytest.raises(ConfigError, match="no special session"):
        NSE.with_session_times(D("2026-11-09"), muhurat_2026_times())


@pytest.mark.parametrize(
    ("time", "phase"),
    [
        ("08:59:59", None),
        ("09:00", Phase.PRE_OPEN),
        ("09:14:59", Phase.PRE_OPEN),
        ("09:15", Phase.CONTINUOUS),
        ("15:29:59", Phase.CONTINUOUS),
        ("15:30", None),
        ("15:40", Phase.POST_CLOSE),
        ("16:00", None),
    ],
)
def test_a_regular_day_before_the_closing_auction_has_these_phases(
    time: str, phase: Phase | None
) -> None:
    assert NSE.phase_at(ns("2025-06-03", time)) is phase
    assert NSE.is_open(ns("2025-06-03", time)) is (phase is Phase.CONTINUOUS)


def test_from_2026_08_03_cas_stocks_stop_at_1515_and_fno_trades_to_1540() -> None:
    day = "2026-08-03"
    assert NSE.phase_at(ns(day, "15:15"), cas_stock=True) is Phase.CLOSING_AUCTION
    assert not NSE.is_open(ns(day, "15:15"), cas_stock=True)
    assert NSE.is_open(ns(day, "15:25"))  # a stock outside the auction (unconfirmed, §9)
    assert NSE.is_open(ns(day, "15:39:59"), Segment.FNO)
    assert not NSE.is_open(ns(day, "15:40"), Segment.FNO)
    assert NSE.phase_at(ns(day, "15:45")) is None
    assert NSE.phase_at(ns(day, "15:50")) is Phase.POST_CLOSE
    session = NSE.session_for(D(day))
    assert session is not None
    assert session.times.closing_auction is not None
    assert session.times.closing_auction.market_orders_until == T("15:25")


def test_before_2026_08_03_there_is_no_closing_auction_and_fno_shuts_at_1530() -> None:
    day = "2026-07-31"
    assert NSE.is_open(ns(day, "15:20"), cas_stock=True)
    assert not NSE.is_open(ns(day, "15:35"), Segment.FNO)
    assert NSE.phase_at(ns(day, "15:45")) is Phase.POST_CLOSE


def test_pre_open_order_entry_lengthens_and_market_orders_stop_earlier_from_2026_09_07() -> None:
    before, after = NSE.session_for(D("2026-09-04")), NSE.session_for(D("2026-09-07"))
    assert before is not None
    assert after is not None
    assert before.times.pre_open.order_entry == Window(T("09:00"), T("09:08"))
    assert before.times.pre_open.market_orders_until == T("09:08")
    assert after.times.pre_open.order_entry == Window(T("09:00"), T("09:10"))
    assert after.times.pre_open.market_orders_until == T("09:05")


def test_fno_has_a_pre_open_only_from_2025_12_08() -> None:
    assert NSE.phase_at(ns("2025-12-05", "09:05"), Segment.FNO) is None
    assert NSE.phase_at(ns("2025-12-08", "09:05"), Segment.FNO) is Phase.PRE_OPEN
    assert NSE.phase_at(ns("2025-12-08", "15:45"), Segment.FNO) is None  # no F&O post-close


def test_the_open_is_0345_utc_on_every_regular_day_because_ist_has_no_daylight_saving() -> None:
    for day in NSE.trading_days_between(D("2025-01-01"), D("2026-12-31"), regular_only=True):
        session = NSE.session_for(day)
        assert session is not None
        opened = dt.datetime.fromtimestamp(session.open_ns() // 10**9, tz=dt.UTC)
        assert (opened.date(), opened.time()) == (day, T("03:45")), day
        assert session.at(T("09:15")).utcoffset() == dt.timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Good Friday long weekend, 2025 and 2026.
        (("2025-04-17", "15:30"), ("2025-04-21", "09:15")),
        (("2026-04-02", "18:00"), ("2026-04-06", "09:15")),
        # Republic Day Monday: Friday evening to Tuesday.
        (("2026-01-23", "16:00"), ("2026-01-27", "09:15")),
        # Budget Sunday is a session of its own.
        (("2026-01-30", "16:00"), ("2026-02-01", "09:15")),
        # Before the open the same day; at the open already past, so the next day.
        (("2025-06-03", "08:00"), ("2025-06-03", "09:15")),
        (("2025-06-03", "09:15"), ("2025-06-04", "09:15")),
        # Diwali 2025: Muhurat afternoon on the holiday, then Balipratipada shut.
        (("2025-10-20", "15:30"), ("2025-10-21", "13:45")),
        (("2025-10-21", "14:45"), ("2025-10-23", "09:15")),
    ],
)
def test_next_open_is_the_first_open_strictly_after_now(
    now: tuple[str, str], expected: tuple[str, str]
) -> None:
    assert NSE.next_open(ns(*now)) == ns(*expected)


@pytest.mark.parametrize(
    ("now", "expected", "cas_stock"),
    [
        # At the close the close has happened; a nanosecond before it, it has not.
        (("2025-06-03", "15:30"), ("2025-06-03", "15:30"), False),
        (("2025-06-03", "10:00"), ("2025-06-02", "15:30"), False),
        # Over the ad hoc election holiday (Thursday 2026-01-15).
        (("2026-01-16", "09:00"), ("2026-01-14", "15:30"), False),
        (("2026-04-06", "09:00"), ("2026-04-02", "15:30"), False),
        (("2026-08-04", "09:00"), ("2026-08-03", "15:15"), True),
    ],
)
def test_previous_close_is_the_last_close_at_or_before_now(
    now: tuple[str, str], expected: tuple[str, str], cas_stock: bool
) -> None:
    assert NSE.previous_close(ns(*now), cas_stock=cas_stock) == ns(*expected)


def test_previous_close_one_nanosecond_before_the_close_is_the_day_before() -> None:
    assert NSE.previous_close(ns("2025-06-03", "15:30") - 1) == ns("2025-06-02", "15:30")


def test_fno_closes_at_1540_in_previous_close_after_the_auction_began() -> None:
    assert NSE.previous_close(ns("2026-08-04", "09:00"), Segment.FNO) == ns("2026-08-03", "15:40")


def test_trading_days_between_includes_both_ends() -> None:
    assert NSE.trading_days_between(D("2025-01-01"), D("2025-01-03")) == (
        D("2025-01-01"),
        D("2025-01-02"),
        D("2025-01-03"),
    )
    # Ambedkar Jayanti Monday and Good Friday bracket a three-day week.
    assert NSE.trading_days_between(D("2025-04-14"), D("2025-04-18")) == (
        D("2025-04-15"),
        D("2025-04-16"),
        D("2025-04-17"),
    )
    assert NSE.trading_days_between(D("2025-01-03"), D("2025-01-03")) == (D("2025-01-03"),)
    assert NSE.trading_days_between(D("2025-01-03"), D("2025-01-02")) == ()


@pytest.mark.parametrize(
    ("expiry", "moved_to"),
    # NIFTY weekly Tuesdays on 2026 holidays (§4.6), SENSEX Thursday 2026-01-15 (confirmed), and
    # Diwali 2025 where the Muhurat session must not catch the expiry.
    [
        ("2026-03-03", "2026-03-02"),
        ("2026-03-31", "2026-03-30"),
        ("2026-04-14", "2026-04-13"),
        ("2026-10-20", "2026-10-19"),
        ("2026-11-10", "2026-11-09"),
        ("2026-11-24", "2026-11-23"),
        ("2026-01-15", "2026-01-14"),
        ("2025-10-22", "2025-10-20"),
    ],
)
def test_an_expiry_on_a_holiday_moves_to_the_previous_regular_day(
    expiry: str, moved_to: str
) -> None:
    assert NSE.previous_trading_day(D(expiry), regular_only=True) == D(moved_to)


def test_next_and_previous_trading_day_count_special_sessions_unless_told_not_to() -> None:
    assert NSE.next_trading_day(D("2025-10-20")) == D("2025-10-21")
    assert NSE.next_trading_day(D("2025-10-20"), regular_only=True) == D("2025-10-23")
    assert NSE.previous_trading_day(D("2026-02-02")) == D("2026-02-01")
    assert NSE.previous_trading_day(D("2026-02-02"), regular_only=True) == D("2026-01-30")


@pytest.mark.parametrize("day", ["2024-12-31", "2027-01-01"])
def test_a_day_outside_the_tables_is_refused_not_guessed(day: str) -> None:
    with pytest.raises(ConfigError, match=f"{day} is\\s+outside"):
        NSE.is_trading_day(D(day))


def test_helpers_refuse_to_walk_past_the_last_covered_day() -> None:
    with pytest.raises(ConfigError, match="2027-01-01"):
        NSE.next_open(ns("2026-12-31", "16:00"))
    with pytest.raises(ConfigError, match="2024-12-31"):
        NSE.previous_close(ns("2025-01-01", "10:00"))


def test_a_year_can_be_added_by_passing_its_holidays() -> None:
    extended = TradingCalendar(
        Exchange.NSE,
        holidays={**HOLIDAYS, D("2027-01-26"): "Republic Day"},
        last_day=D("2027-12-31"),
    )
    assert extended.is_trading_day(D("2027-01-25"))
    assert not extended.is_trading_day(D("2027-01-26"))


def test_settlement_days_skip_settlement_holidays_and_weekend_sessions() -> None:
    assert not NSE.is_settlement_day(D("2026-02-19"))  # trading, no settlement (§3.2)
    assert NSE.is_settlement_day(D("2026-02-20"))
    assert not NSE.is_settlement_day(D("2026-02-01"))  # Budget Sunday (§2.6)
    assert not NSE.is_settlement_day(D("2026-01-15"))  # trading holiday
    with pytest.raises(ConfigError, match="settlement holidays are tabled from 2026-01-01"):
        NSE.is_settlement_day(D("2025-12-31"))


def test_fno_exchanges_use_their_cash_exchange_calendar() -> None:
    assert calendar_for(Exchange.NFO) is calendar_for(Exchange.NSE)
    assert calendar_for(Exchange.BFO) is calendar_for(Exchange.BSE)


def test_a_calendar_with_misordered_timetables_or_a_window_going_backwards_is_refused() -> None:
    with pytest.raises(ConfigError, match="dated in order"):
        TradingCalendar(Exchange.NSE, timetables=tuple(reversed(TIMETABLES)))
    with pytest.raises(ConfigError, match="does not go forward"):
        Window(T("15:30"), T("09:15"))


def test_a_non_muhurat_special_session_on_a_holiday_is_refused() -> None:
    with pytest.raises(ConfigError, match="2025-03-14 is both a holiday and a session"):
        TradingCalendar(
            Exchange.NSE,
            special_sessions={D("2025-03-14"): SpecialSession(SessionKind.SPECIAL, "test")},
        )


# Instants across the covered years, staying a day clear of each end so that neither helper
# needs a year the tables lack.
INSTANTS = st.integers(min_value=ns("2025-01-02", "00:00"), max_value=ns("2026-12-30", "23:59"))


@settings(max_examples=300, deadline=None)
@given(ts=INSTANTS)
def test_next_open_is_open_and_previous_close_is_shut_with_no_open_in_between(ts: int) -> None:
    cal = NSE.with_session_times(D("2026-11-08"), muhurat_2026_times())
    nxt, prev = cal.next_open(ts), cal.previous_close(ts)
    assert prev <= ts < nxt
    assert cal.is_open(nxt)
    assert not cal.is_open(nxt - 1)
    assert cal.is_open(prev - 1)
    assert not cal.is_open(prev)
    # If the market is shut at ts, nothing opened since the last close.
    if not cal.is_open(ts):
        assert cal.next_open(prev) == nxt


def test_the_shared_calendars_tables_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        NSE.holidays[D("2025-06-03")] = "invented"  # type: ignore[index]
    with pytest.raises(TypeError):
        HOLIDAYS[D("2025-06-03")] = "invented"  # type: ignore[index]
