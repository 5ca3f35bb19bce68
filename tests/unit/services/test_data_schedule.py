"""The data service's schedule on the NSE calendar (IST), on an injected clock: each job is due
at its time on the days it runs, runs once per day however often it is asked, is tried again
after a failure once `retry_after_s` has passed, and catches up yesterday's run if missed."""

from __future__ import annotations

import datetime as dt

from algo_trading.domain.events import IST
from algo_trading.domain.instruments import Exchange
from algo_trading.market.calendar import calendar_for
from algo_trading.services.data_schedule import DataSchedule, ScheduledJob, after_close, at_ist

NS = 1_000_000_000


class Clock:
    def __init__(self, when: dt.datetime) -> None:
        self.ns = int(when.timestamp()) * NS

    def now_ns(self) -> int:
        return self.ns

    def to(self, when: dt.datetime) -> None:
        self.ns = int(when.timestamp()) * NS


class Record:
    """An in-memory JobLog with the table's rules (DONE is final; FAILED may be claimed)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, dt.date], str] = {}

    def claim(self, job: str, day: dt.date, owner: str, now_ns: int, stale_ns: int) -> bool:
        if self.rows.get((job, day)) in ("DONE", "RUNNING"):
            return False
        self.rows[(job, day)] = "RUNNING"
        return True

    def finish(self, job: str, day: dt.date, ok: bool, detail: str, now_ns: int) -> None:
        self.rows[(job, day)] = "DONE" if ok else "FAILED"


def ist(y: int, m: int, d: int, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=IST)


def _schedule(
    clock: Clock, record: Record, calls: list[tuple[str, dt.date]], fail: set[str]
) -> DataSchedule:
    def action(name: str):  # type: ignore[no-untyped-def]
        def run(day: dt.date) -> str:
            calls.append((name, day))
            if name in fail:
                raise OSError("bucket unreachable")
            return "ok"

        return run

    jobs = [
        ScheduledJob("master", at_ist(8, 30, trading_days_only=True), action("master")),
        ScheduledJob("topup", after_close(30), action("topup"), catch_up=True),
        ScheduledJob(
            "archive", at_ist(23, 30, trading_days_only=False), action("archive"), catch_up=True
        ),
    ]
    return DataSchedule(jobs, record, clock, calendar_for(Exchange.NSE), "test", retry_after_s=300)


def test_the_master_runs_at_0830_on_a_trading_day_once() -> None:
    clock, record, calls = Clock(ist(2025, 3, 4, 8, 29)), Record(), []  # a Tuesday
    schedule = _schedule(clock, record, calls, set())
    schedule.run_pending()
    assert ("master", dt.date(2025, 3, 4)) not in calls
    clock.to(ist(2025, 3, 4, 8, 30))
    outcomes = schedule.run_pending()
    assert [(o.job, o.ok) for o in outcomes if o.day == dt.date(2025, 3, 4)] == [("master", True)]
    schedule.run_pending()
    clock.to(ist(2025, 3, 4, 12, 0))
    schedule.run_pending()
    assert calls.count(("master", dt.date(2025, 3, 4))) == 1


def test_nothing_but_the_archive_runs_on_a_weekend_or_a_holiday() -> None:
    calls: list[tuple[str, dt.date]] = []
    for day in (dt.date(2025, 3, 8), dt.date(2025, 3, 14)):  # a Saturday; Holi (NSE holiday)
        clock = Clock(ist(day.year, day.month, day.day, 23, 45))
        _schedule(clock, Record(), calls, set()).run_pending()
    assert {name for name, d in calls if d in (dt.date(2025, 3, 8), dt.date(2025, 3, 14))} == {
        "archive"
    }


def test_the_top_up_is_due_30_minutes_after_the_close() -> None:
    clock, record, calls = Clock(ist(2025, 3, 4, 15, 59)), Record(), []
    schedule = _schedule(clock, record, calls, set())
    schedule.run_pending()
    assert ("topup", dt.date(2025, 3, 4)) not in calls
    clock.to(ist(2025, 3, 4, 16, 0))
    schedule.run_pending()
    assert ("topup", dt.date(2025, 3, 4)) in calls


def test_a_failed_job_is_recorded_and_tried_again_after_the_retry_wait() -> None:
    clock, record, calls = Clock(ist(2025, 3, 4, 23, 30)), Record(), []
    schedule = _schedule(clock, record, calls, {"archive"})
    outcomes = schedule.run_pending()
    today = dt.date(2025, 3, 4)
    assert any(
        o.job == "archive" and o.day == today and not o.ok and "bucket" in o.detail
        for o in outcomes
    )
    assert record.rows[("archive", today)] == "FAILED"
    clock.ns += 299 * NS
    schedule.run_pending()
    assert calls.count(("archive", today)) == 1
    clock.ns += 2 * NS
    schedule.run_pending()
    assert calls.count(("archive", today)) == 2


def test_a_service_back_after_midnight_catches_up_yesterdays_archive_not_its_master() -> None:
    clock, record, calls = Clock(ist(2025, 3, 5, 0, 10)), Record(), []
    _schedule(clock, record, calls, set()).run_pending()
    yesterday = dt.date(2025, 3, 4)
    assert ("archive", yesterday) in calls
    assert ("topup", yesterday) in calls
    assert ("master", yesterday) not in calls
