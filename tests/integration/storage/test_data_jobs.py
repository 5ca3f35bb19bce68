"""The data service's job record on SQLite and PostgreSQL: a job runs once per exchange day,
a failed one is tried again, a RUNNING one is taken over only once it is stale, and of two
racers exactly one wins the claim."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.data_jobs import SqlDataJobs

NS = 1_000_000_000
T0 = 1_741_062_600 * NS
DAY = dt.date(2025, 3, 4)
STALE = 3600 * NS


def _job() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


def test_a_done_job_is_not_claimed_again_that_day(database: Database) -> None:
    jobs, job = SqlDataJobs(database), _job()
    assert jobs.claim(job, DAY, "a", T0, STALE)
    jobs.finish(job, DAY, True, "12 files", T0 + NS)
    assert not jobs.claim(job, DAY, "b", T0 + 10 * STALE, STALE)
    record = jobs.get(job, DAY)
    assert record is not None
    assert (record.status, record.attempts, record.owner, record.detail) == (
        "DONE",
        1,
        "a",
        "12 files",
    )
    assert record.finished_ns == T0 + NS
    assert jobs.claim(job, DAY + dt.timedelta(days=1), "a", T0, STALE)  # the next day is new


def test_a_failed_job_is_tried_again_and_counts_its_attempts(database: Database) -> None:
    jobs, job = SqlDataJobs(database), _job()
    assert jobs.claim(job, DAY, "a", T0, STALE)
    jobs.finish(job, DAY, False, "bucket unreachable", T0 + NS)
    assert jobs.claim(job, DAY, "a", T0 + 2 * NS, STALE)
    record = jobs.get(job, DAY)
    assert record is not None
    assert (record.status, record.attempts) == ("RUNNING", 2)


def test_a_running_job_is_taken_over_only_when_stale(database: Database) -> None:
    jobs, job = SqlDataJobs(database), _job()
    assert jobs.claim(job, DAY, "crashed", T0, STALE)
    assert not jobs.claim(job, DAY, "b", T0 + STALE - NS, STALE)
    assert jobs.claim(job, DAY, "b", T0 + STALE + NS, STALE)
    record = jobs.get(job, DAY)
    assert record is not None
    assert record.owner == "b"


def test_of_racing_claims_exactly_one_wins(database: Database) -> None:
    jobs, job = SqlDataJobs(database), _job()
    results: list[bool] = []
    lock = threading.Lock()

    def claim(owner: str) -> None:
        won = jobs.claim(job, DAY, owner, T0, STALE)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
