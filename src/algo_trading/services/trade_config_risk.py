"""A trade config's limits, per account and per strategy (issue #10, item 5): each optional,
positive and exact (paise, units, basis points, IST times), and none impossible: a trading
window outside the session, a breaker with half its rule, a loss limit above the capital."""

from __future__ import annotations

import dataclasses
import datetime as dt

from algo_trading.domain.instruments import Segment
from algo_trading.domain.money import format_rupees
from algo_trading.engine.risk import RiskLimits
from algo_trading.market.calendar_data import TIMETABLES, Window
from algo_trading.services.trade_config_schema import ConfigProblem, RiskTable

__all__ = ["RiskLimits", "risk_limits"]


def _session(segment: Segment | None, today: dt.date) -> Window:
    """The continuous market of `segment` on a regular day's timetable; None: any segment's
    (the account's window must fit the longest)."""
    times = next(t for since, t in reversed(TIMETABLES) if since <= today)
    if segment is None:
        cash, fno = times.continuous, times.fno_continuous
        return Window(min(cash.start, fno.start), max(cash.end, fno.end))
    return times.fno_continuous if segment is Segment.FNO else times.continuous


def risk_limits(
    table: RiskTable,
    where: str,
    segment: Segment | None,
    today: dt.date,
    *,
    capital_paise: int | None,
) -> RiskLimits:
    """`capital_paise` is the account's capital, which a strategy's limits also fit within."""
    limits = RiskLimits(
        **{f.name: getattr(table, _table_key(f.name)) for f in dataclasses.fields(RiskLimits)}
    )
    _check_window(limits, where, segment, today)
    if (limits.breaker_rejections is None) != (limits.breaker_window_minutes is None):
        missing = (
            "breaker_window_minutes"
            if limits.breaker_window_minutes is None
            else ("breaker_rejections")
        )
        raise ConfigProblem(f"{where}.{missing}", "missing: the breaker needs both N and M minutes")
    own = limits.capital_paise
    for key, cap, why in (
        ("capital_rupees", capital_paise, "the account's capital_rupees"),
        ("max_daily_loss_rupees", own or capital_paise, "the capital"),
        ("max_drawdown_rupees", own or capital_paise, "the capital"),
    ):
        value = getattr(limits, _limit_key(key))
        if value is not None and cap is not None and value > cap:
            # A loss larger than the capital cannot happen, so such a limit would never stop
            # anything: almost surely a slip of a digit.
            raise ConfigProblem(
                f"{where}.{key}",
                f"{format_rupees(value)} is above {why} ({format_rupees(cap)})",
            )
    return limits


def _table_key(field: str) -> str:
    return field.replace("_paise", "_rupees").replace("_bps", "_percent")


def _limit_key(key: str) -> str:
    return key.replace("_rupees", "_paise")


def _check_window(limits: RiskLimits, where: str, segment: Segment | None, today: dt.date) -> None:
    start, end = limits.trading_start, limits.trading_end
    session = _session(segment, today)
    span = f"{session.start:%H:%M}-{session.end:%H:%M}"
    name = "trading" if segment is None else segment.value.lower()
    for key, t in (("trading_start", start), ("trading_end", end)):
        if t is not None and not session.start <= t <= session.end:
            raise ConfigProblem(
                f"{where}.{key}",
                f"{t:%H:%M} is outside the {name} session ({span} IST)",
            )
    if start is not None and end is not None and not start < end:
        raise ConfigProblem(f"{where}.trading_end", f"{end:%H:%M} is not after {start:%H:%M}")
