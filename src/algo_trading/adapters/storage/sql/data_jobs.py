"""The data service's job record (`data_jobs`, migration 0007): which scheduled job ran on
which exchange day, by whom, and how it ended.

`claim` is the idempotence: one transaction that takes (job, day) unless it is DONE, or
RUNNING under a claim younger than `stale_ns` (a service killed mid-job leaves RUNNING; after
`stale_ns` another run may take it over). Two services racing for one claim get one winner
(INSERT … ON CONFLICT DO NOTHING, then a row lock or SQLite's write lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.repositories import insert_or_skip
from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime

__all__ = ["JobRecord", "SqlDataJobs"]

DATA_JOBS: Table = metadata.tables["data_jobs"]
_T = TypeVar("_T")
_DETAIL_MAX = 2000


@dataclass(frozen=True, slots=True)
class JobRecord:
    job: str
    day: dt.date
    status: str
    attempts: int
    owner: str
    started_ns: int
    finished_ns: int | None
    detail: str


class SqlDataJobs:
    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, job: str, day: dt.date, owner: str, now_ns: int, stale_ns: int) -> bool:
        now = ns_to_datetime(now_ns)

        def work(c: Connection) -> bool:
            values = {
                "job": job,
                "day": day,
                "status": "RUNNING",
                "attempts": 1,
                "owner": owner,
                "started_at": now,
                "finished_at": None,
                "detail": "",
            }
            inserted = c.execute(
                insert_or_skip(c.dialect.name, DATA_JOBS, ["job", "day"]).returning(
                    DATA_JOBS.c.job
                ),
                values,
            ).one_or_none()
            if inserted is not None:
                return True
            row = c.execute(
                select(DATA_JOBS)
                .where(DATA_JOBS.c.job == job, DATA_JOBS.c.day == day)
                .with_for_update()
            ).one()
            if row.status == "DONE":
                return False
            if row.status == "RUNNING" and datetime_to_ns(row.started_at) + stale_ns > now_ns:
                return False
            c.execute(
                update(DATA_JOBS)
                .where(DATA_JOBS.c.job == job, DATA_JOBS.c.day == day)
                .values(
                    status="RUNNING",
                    attempts=row.attempts + 1,
                    owner=owner,
                    started_at=now,
                    finished_at=None,
                )
            )
            return True

        return self._write(work)

    def finish(self, job: str, day: dt.date, ok: bool, detail: str, now_ns: int) -> None:
        statement = (
            update(DATA_JOBS)
            .where(DATA_JOBS.c.job == job, DATA_JOBS.c.day == day)
            .values(
                status="DONE" if ok else "FAILED",
                finished_at=ns_to_datetime(now_ns),
                detail=detail[:_DETAIL_MAX],
            )
        )
        self._write(lambda c: c.execute(statement))

    def get(self, job: str, day: dt.date) -> JobRecord | None:
        query = select(DATA_JOBS).where(DATA_JOBS.c.job == job, DATA_JOBS.c.day == day)
        try:
            with self._db.read_engine.connect() as c:
                row = c.execute(query).one_or_none()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc
        if row is None:
            return None
        return JobRecord(
            row.job,
            row.day,
            row.status,
            row.attempts,
            row.owner,
            datetime_to_ns(row.started_at),
            None if row.finished_at is None else datetime_to_ns(row.finished_at),
            row.detail,
        )

    def _write(self, work: Callable[[Connection], _T]) -> _T:
        try:
            with self._db.engine.connect() as c:
                result = work(c)
                c.commit()
                return result
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc
