"""The data service's day on the exchange calendar (issue #11 item 6), IST:

- `instrument_master` at 08:30 on trading days: the scrip master to the object store and the cache;
- `history_topup` 30 minutes after the cash close on trading days: the day's candles to the
  history store (the history helper's fetch, through the `HistoryTopUp` hook);
- `archive` at 23:30 every day: the day's log files to logs/archived/YYYY/MM/DD/ and the
  day's tick files compacted into one file under market-data/live/YYYY/MM/DD/.

Each (job, day) is claimed in the job record before it runs (`JobLog`, the `data_jobs` table),
so a job runs once a day whatever restarts happen; a failure is recorded and tried again
after `retry_after_s`; a job whose time passed while the service was down runs when it comes
back (yesterday's too, for the jobs that catch up). Time comes from the injected Clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from algo_trading.domain.events import IST
from algo_trading.engine.ports import Clock
from algo_trading.market.calendar import TradingCalendar

__all__ = [
    "DataSchedule",
    "JobLog",
    "JobOutcome",
    "ScheduledJob",
    "after_close",
    "at_ist",
]

log = logging.getLogger(__name__)
_NS = 1_000_000_000

DueAt = Callable[[dt.date, TradingCalendar], int | None]
"""When a job is due on `day` (epoch ns), or None if it does not run that day."""


def at_ist(hour: int, minute: int, *, trading_days_only: bool) -> DueAt:
    def due(day: dt.date, calendar: TradingCalendar) -> int | None:
        if trading_days_only and not _trading(calendar, day):
            return None
        return int(dt.datetime.combine(day, dt.time(hour, minute), IST).timestamp()) * _NS

    return due


def after_close(minutes: int) -> DueAt:
    def due(day: dt.date, calendar: TradingCalendar) -> int | None:
        if not _trading(calendar, day):
            return None
        session = calendar.session_for(day)
        return None if session is None else session.close_ns() + minutes * 60 * _NS

    return due


def _trading(calendar: TradingCalendar, day: dt.date) -> bool:
    try:
        return calendar.is_trading_day(day)
    except Exception:  # a day outside the calendar's years: weekdays only, as the calendar does
        return day.weekday() < 5


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    due: DueAt
    action: Callable[[dt.date], str]  # returns what it did, for the record
    catch_up: bool = False  # also run yesterday's if it was missed


class JobLog(Protocol):
    def claim(self, job: str, day: dt.date, owner: str, now_ns: int, stale_ns: int) -> bool: ...

    def finish(self, job: str, day: dt.date, ok: bool, detail: str, now_ns: int) -> None: ...


@dataclass(frozen=True, slots=True)
class JobOutcome:
    job: str
    day: dt.date
    ok: bool
    detail: str


@dataclass
class DataSchedule:
    jobs: Sequence[ScheduledJob]
    record: JobLog
    clock: Clock
    calendar: TradingCalendar
    owner: str
    stale_s: float = 3600.0
    retry_after_s: float = 300.0
    _failed_at: dict[tuple[str, dt.date], int] = field(default_factory=dict)

    def due(self, now_ns: int) -> list[tuple[ScheduledJob, dt.date]]:
        today = dt.datetime.fromtimestamp(now_ns / _NS, IST).date()
        out = []
        for job in self.jobs:
            days = [today - dt.timedelta(days=1), today] if job.catch_up else [today]
            for day in days:
                at = job.due(day, self.calendar)
                if at is None or now_ns < at:
                    continue
                failed = self._failed_at.get((job.name, day))
                if failed is not None and now_ns - failed < self.retry_after_s * _NS:
                    continue
                out.append((job, day))
        return out

    def run_pending(self) -> list[JobOutcome]:
        """Run every job that is due and not yet done (claimed first); their outcomes."""
        outcomes = []
        for job, day in self.due(self.clock.now_ns()):
            now = self.clock.now_ns()
            if not self.record.claim(job.name, day, self.owner, now, int(self.stale_s * _NS)):
                continue
            try:
                detail, ok = job.action(day), True
                log.info("data job %s for %s done: %s", job.name, day, detail)
            except Exception as exc:  # a job's failure is recorded; the service goes on
                detail, ok = f"{type(exc).__name__}: {exc}", False
                self._failed_at[(job.name, day)] = self.clock.now_ns()
                log.error("data job %s for %s failed: %s", job.name, day, detail)
            self.record.finish(job.name, day, ok, detail, self.clock.now_ns())
            outcomes.append(JobOutcome(job.name, day, ok, detail))
        return outcomes
