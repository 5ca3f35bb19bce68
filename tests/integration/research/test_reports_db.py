"""A trading report reads the period's trades and risk refusals from the real schema, on SQLite
and on PostgreSQL, and nothing outside the period."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.schema import upgrade
from algo_trading.research.reports import build_report, load_rows, period_of
from tests.support.storage import find_postgres, fresh_schema

UTC = dt.UTC
DAY = dt.date(2026, 12, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'r.sqlite3'}")
        upgrade(database)
        yield database
        database.dispose()
        return
    base, why = find_postgres()
    if base is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable: {why}")
        pytest.skip(f"PostgreSQL unreachable: {why}")
    with fresh_schema(base) as url:
        database = Database(url)
        upgrade(database)
        yield database
        database.dispose()


def _seed(db: Database) -> None:
    orders, trades, audit = (metadata.tables[n] for n in ("orders", "trades", "order_audit"))
    at = dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 10:30 IST on the 1st
    with db.engine.begin() as conn:
        conn.execute(
            insert(orders).values(
                client_order_id="sma-1",
                tag="t1",
                account="default",
                strategy="sma",
                symbol="SBIN-EQ",
                exchange="NSE",
                product="INTRADAY",
                side="SELL",
                order_type="MARKET",
                validity="DAY",
                quantity=10,
                status="FILLED",
                created_at=at,
                updated_at=at,
            )
        )
        for i, (when, pnl) in enumerate(
            [(at, 5_000), (at + dt.timedelta(hours=1), -1_000), (at - dt.timedelta(days=1), 9_999)]
        ):
            conn.execute(
                insert(trades).values(
                    trade_id=f"T{i}",
                    client_order_id="sma-1",
                    account="default",
                    strategy="sma",
                    symbol="SBIN-EQ",
                    exchange="NSE",
                    product="INTRADAY",
                    side="SELL",
                    quantity=10,
                    price=80_000,
                    charges=40,
                    pnl=pnl,
                    executed_at=when,
                )
            )
        conn.execute(
            insert(audit).values(
                occurred_at=at,
                stage="risk",
                decision_code="MAX_OPEN_ORDERS",
                strategy="sma",
                order_tag="t2",
                client_order_id="sma-2",
                symbol="SBIN-EQ",
                side="BUY",
                quantity=10,
                numbers={"open": 3, "limit": 3},
            )
        )


def test_a_daily_report_reads_only_its_day(db: Database) -> None:
    _seed(db)
    period = period_of("daily", DAY)
    trades, refusals = load_rows(db, period)
    report = build_report(period, trades, refusals)
    assert report["executions"] == 2  # the trade of the 30th is not in it
    assert report["net_paise"] == 5_000 - 1_000 - 80
    assert report["risk_events"] == {"MAX_OPEN_ORDERS": 1}


def test_the_scheduled_job_writes_the_day_the_week_and_the_month_so_far(db: Database) -> None:
    from algo_trading.research.reports import scheduled_reports

    _seed(db)
    written: dict[str, bytes] = {}
    what = scheduled_reports(db, written.__setitem__)(DAY)
    assert sorted(written) == [
        "reports/daily/2026-12-01.html",
        "reports/daily/2026-12-01.json",
        "reports/monthly/2026-12.html",
        "reports/monthly/2026-12.json",
        "reports/weekly/2026-W49.html",
        "reports/weekly/2026-W49.json",
    ]
    assert "daily 2026-12-01: 2 executions" in what
    assert "weekly 2026-W49: 3 executions" in what  # Monday the 30th is in the same week
    assert "monthly 2026-12: 2 executions" in what  # but not in the same month


def test_the_scheduled_job_sends_each_report_when_asked_and_only_then(db: Database) -> None:
    from algo_trading.engine.ports import Alert, AlertSeverity
    from algo_trading.research.reports import scheduled_reports

    _seed(db)
    sent: list[Alert] = []
    scheduled_reports(db, {}.__setitem__)(DAY)  # off by default: nothing to send it to
    scheduled_reports(db, {}.__setitem__, sent.append, lambda: 1_764_600_000 * 10**9)(DAY)
    assert [a.code for a in sent] == ["REPORT_DAILY", "REPORT_WEEKLY", "REPORT_MONTHLY"]
    assert all(a.severity is AlertSeverity.INFO for a in sent)
    assert all(a.ts_ns == 1_764_600_000 * 10**9 for a in sent)
    daily = sent[0]
    assert daily.text.startswith("daily trading report 2026-12-01: 2 executions")
    assert "risk refusals" in daily.text
    assert "1 risk refusals" in daily.text
    assert daily.details["stored"] == "reports/daily/2026-12-01.json, reports/daily/2026-12-01.html"
    assert sent[1].text.startswith("weekly trading report 2026-W49: 3 executions")


def test_sending_reports_without_a_clock_is_refused(db: Database) -> None:
    from algo_trading.domain.errors import ConfigError
    from algo_trading.research.reports import scheduled_reports

    with pytest.raises(ConfigError, match="clock"):
        scheduled_reports(db, {}.__setitem__, lambda alert: None)
