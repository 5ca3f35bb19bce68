"""Intraday (MIS) auto square-off cut-offs per broker and segment, as dated configuration
(indian-market.md §2.7, §9).

After its cut-off a broker closes open intraday positions itself (with a charge) and accepts no
new intraday order; a strategy that wants its own exit must act before it. Angel One is the default
broker, but its times (15:15 cash, 15:20 F&O) come from a third-party table and are **unconfirmed**
(§9), as is whether any broker moved its times when the closing auction began on 2026-08-03; so
every time here is a row the services may replace from settings (`SquareOffSchedule.with_rule`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ist_day
from algo_trading.domain.instruments import Exchange, Segment
from algo_trading.market.calendar import Session, SessionKind, TradingCalendar, calendar_for

__all__ = [
    "DEFAULT_SQUAREOFF_RULES",
    "Broker",
    "SquareOffRule",
    "SquareOffSchedule",
    "squareoff_due",
]

_EPOCH = dt.date(1970, 1, 1)


class Broker(StrEnum):
    ANGEL_ONE = "angelone"
    ZERODHA = "zerodha"


@dataclass(frozen=True, slots=True)
class SquareOffRule:
    """From `effective_from`, `broker` squares off `segment` intraday positions at `cutoff` (IST)
    on a normal-timetable day, and `minutes_before_close` before the close in a Muhurat session.
    `confirmed` says whether the broker's own page states the cut-off (§9)."""

    broker: Broker
    segment: Segment
    effective_from: dt.date
    cutoff: dt.time
    minutes_before_close: int
    confirmed: bool
    source: str

    def __post_init__(self) -> None:
        if self.minutes_before_close < 0:
            raise ConfigError(
                f"square-off rule {self.broker}/{self.segment}: minutes before close "
                f"{self.minutes_before_close} is negative"
            )


DEFAULT_SQUAREOFF_RULES: tuple[SquareOffRule, ...] = (
    # Muhurat leads (14 and 11 minutes) are from Angel One's 2023 Muhurat notice (§2.7).
    SquareOffRule(
        Broker.ANGEL_ONE,
        Segment.CASH,
        dt.date.min,
        dt.time(15, 15),
        14,
        confirmed=False,
        source="third-party table, intradayedge.in 2026-02-08 (indian-market.md §2.7)",
    ),
    SquareOffRule(
        Broker.ANGEL_ONE,
        Segment.FNO,
        dt.date.min,
        dt.time(15, 20),
        11,
        confirmed=False,
        source="third-party table, intradayedge.in 2026-02-08 (indian-market.md §2.7)",
    ),
    # Zerodha's support page states the clock times; its Muhurat leads are not published, so we
    # keep the regular day's distance from the 15:30 close (10 and 5 minutes): an assumption.
    SquareOffRule(
        Broker.ZERODHA,
        Segment.CASH,
        dt.date.min,
        dt.time(15, 20),
        10,
        confirmed=True,
        source="Zerodha support, intraday auto square-off timings (indian-market.md §2.7)",
    ),
    SquareOffRule(
        Broker.ZERODHA,
        Segment.FNO,
        dt.date.min,
        dt.time(15, 25),
        5,
        confirmed=True,
        source="Zerodha support, intraday auto square-off timings (indian-market.md §2.7)",
    ),
)


class SquareOffSchedule:
    """The square-off rules in force, looked up by broker, segment and date."""

    def __init__(self, rules: Iterable[SquareOffRule] = DEFAULT_SQUAREOFF_RULES) -> None:
        by_key: dict[tuple[Broker, Segment], list[SquareOffRule]] = {}
        for rule in rules:
            by_key.setdefault((rule.broker, rule.segment), []).append(rule)
        for (broker, segment), listed in by_key.items():
            listed.sort(key=lambda r: r.effective_from)
            dates = [r.effective_from for r in listed]
            if len(set(dates)) != len(dates):
                raise ConfigError(
                    f"square-off rules: two rules for {broker}/{segment} take effect the same day"
                )
        self._rules = {key: tuple(listed) for key, listed in by_key.items()}

    @property
    def rules(self) -> tuple[SquareOffRule, ...]:
        return tuple(r for listed in self._rules.values() for r in listed)

    def with_rule(self, rule: SquareOffRule) -> SquareOffSchedule:
        """A copy in which `rule` replaces any rule of the same broker, segment and date."""
        kept = [
            r
            for r in self.rules
            if (r.broker, r.segment, r.effective_from)
            != (rule.broker, rule.segment, rule.effective_from)
        ]
        return SquareOffSchedule([*kept, rule])

    def rule_for(self, day: dt.date, segment: Segment, broker: Broker) -> SquareOffRule:
        """The rule of `broker` and `segment` in force on `day`."""
        chosen: SquareOffRule | None = None
        for rule in self._rules.get((broker, segment), ()):
            if rule.effective_from > day:
                break
            chosen = rule
        if chosen is None:
            raise ConfigError(f"square-off rules: none for {broker}/{segment} on {day}")
        return chosen

    def cutoff_ns(self, session: Session, segment: Segment, broker: Broker) -> int:
        """Epoch ns of the cut-off in `session`: the rule's clock time on a day with the normal
        timetable, its distance before the segment's close in a Muhurat session (own timetable)."""
        rule = self.rule_for(session.day, segment, broker)
        if session.kind is SessionKind.MUHURAT:
            return session.close_ns(segment) - rule.minutes_before_close * 60 * 10**9
        return session.at_ns(rule.cutoff)


_DEFAULT_SCHEDULE = SquareOffSchedule()


def squareoff_due(
    ts_ns: int,
    segment: Segment,
    broker: Broker = Broker.ANGEL_ONE,
    *,
    schedule: SquareOffSchedule = _DEFAULT_SCHEDULE,
    calendar: TradingCalendar | None = None,
) -> bool:
    """Whether `broker`'s intraday square-off of `segment` has come by `ts_ns`: true from the
    cut-off to the end of that IST day, false on days with no session (§2.7)."""
    cal = calendar_for(Exchange.NSE) if calendar is None else calendar
    session = cal.session_for(_EPOCH + dt.timedelta(days=ist_day(ts_ns)))
    if session is None:
        return False
    return ts_ns >= schedule.cutoff_ns(session, segment, broker)
