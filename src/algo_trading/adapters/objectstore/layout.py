"""The seed's object layout (DESIGN.md "Storage layout"): every key is built here, so the
local folder and the bucket hold the same tree.

    market-data/historical/<path>
    market-data/live/YYYY/MM/DD/<name>
    backtest-results/YYYY/MM/<run-id>/<name>
    reports/{daily,weekly,monthly}/<name>
    logs/archived/YYYY/MM/DD/<name>

Dates are exchange dates (IST), passed in: nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
import re

from algo_trading.domain.errors import ConfigError

__all__ = [
    "REPORT_PERIODS",
    "archived_log_key",
    "backtest_key",
    "backtest_prefix",
    "check_key",
    "historical_key",
    "live_day_prefix",
    "live_key",
    "report_key",
]

REPORT_PERIODS = ("daily", "weekly", "monthly")
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]{0,199}$")
_MAX_KEY = 900  # S3 allows 1024 bytes; leave room for a bucket prefix


def check_key(key: str) -> str:
    """`key` if it is a safe relative key (parts of letters, digits and `._=+-`, none starting
    with a dot); ConfigError naming it otherwise. The local store maps keys to paths, so a
    `..`, an absolute path or a hidden name must never get through."""
    parts = key.split("/")
    if not key or len(key) > _MAX_KEY or not all(_PART.match(p) for p in parts):
        raise ConfigError(
            f"object key {key[:120]!r}: use /-separated parts of letters, digits and ._=+- "
            "(no empty, hidden or .. parts)"
        )
    return key


def _part(value: str, what: str) -> str:
    if not _PART.match(value):
        raise ConfigError(f"{what} {value[:80]!r}: use letters, digits and ._=+- only")
    return value


def historical_key(path: str) -> str:
    return check_key(f"market-data/historical/{path}")


def live_day_prefix(day: dt.date) -> str:
    return f"market-data/live/{day:%Y/%m/%d}/"


def live_key(day: dt.date, name: str) -> str:
    return check_key(live_day_prefix(day) + _part(name, "live file name"))


def backtest_prefix(run_id: str, started: dt.date) -> str:
    return f"backtest-results/{started:%Y/%m}/{_part(run_id, 'run id')}/"


def backtest_key(run_id: str, started: dt.date, name: str) -> str:
    return check_key(backtest_prefix(run_id, started) + _part(name, "result name"))


def report_key(period: str, name: str) -> str:
    if period not in REPORT_PERIODS:
        raise ConfigError(f"report period {period!r}: expected one of {', '.join(REPORT_PERIODS)}")
    return check_key(f"reports/{period}/{_part(name, 'report name')}")


def archived_log_key(day: dt.date, name: str) -> str:
    return check_key(f"logs/archived/{day:%Y/%m/%d}/{_part(name, 'log file name')}")
