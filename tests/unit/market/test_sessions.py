"""Intraday square-off cut-offs (market/sessions.py): dated, per broker and segment, Angel One by
default and marked unconfirmed (indian-market.md §2.7, §9)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from algo_trading.domain import IST, ConfigError, Segment
from algo_trading.market.sessions import (
    DEFAULT_SQUAREOFF_RULES,
    Broker,
    SquareOffRule,
    SquareOffSchedule,
    squareoff_due,
)

CASH, FNO = Segment.CASH, Segment.FNO


def ns(day: str, time: str) -> int:
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(time), IST)
    return int(moment.timestamp()) * 10**9


def first_due_minute(
    day: str, segment: Segment, broker: Broker = Broker.ANGEL_ONE, **kw: object
) -> str:
    """The first whole minute of `day` at which the square-off is due, as HH:MM."""
    for minute in range(24 * 60):
        hhmm = f"{minute // 60:02d}:{minute % 60:02d}"
        if squareoff_due(ns(day, hhmm), segment, broker, **kw):  # type: ignore[arg-type]
            return hhmm
    return "never"


@pytest.mark.parametrize(
    ("segment", "broker", "cutoff"),
    [
        (CASH, Broker.ANGEL_ONE, "15:15"),
        (FNO, Broker.ANGEL_ONE, "15:20"),
        (CASH, Broker.ZERODHA, "15:20"),
        (FNO, Broker.ZERODHA, "15:25"),
    ],
)
def test_on_a_regular_day_square_off_is_due_from_the_brokers_cutoff(
    segment: Segment, broker: Broker, cutoff: str
) -> None:
    assert first_due_minute("2025-06-03", segment, broker) == cutoff
    assert not squareoff_due(ns("2025-06-03", cutoff) - 1, segment, broker)


def test_angel_one_is_the_default_broker() -> None:
    assert squareoff_due(ns("2025-06-03", "15:15"), CASH)
    assert not squareoff_due(ns("2025-06-03", "15:15"), CASH, Broker.ZERODHA)


def test_angel_ones_cutoffs_are_marked_unconfirmed_and_zerodhas_confirmed() -> None:
    # §9: Angel One's times come from a third-party table; flip this only with a broker source.
    confirmed = {(r.broker, r.segment): r.confirmed for r in DEFAULT_SQUAREOFF_RULES}
    assert confirmed == {
        (Broker.ANGEL_ONE, CASH): False,
        (Broker.ANGEL_ONE, FNO): False,
        (Broker.ZERODHA, CASH): True,
        (Broker.ZERODHA, FNO): True,
    }


@pytest.mark.parametrize("day", ["2025-06-07", "2025-04-18", "2026-01-15"])
def test_no_square_off_on_a_day_without_a_session(day: str) -> None:
    assert first_due_minute(day, CASH) == "never"


def test_a_weekend_budget_session_squares_off_as_a_regular_day() -> None:
    assert first_due_minute("2026-02-01", CASH) == "15:15"


def test_muhurat_squares_off_minutes_before_its_own_close() -> None:
    # 2025 Muhurat market 13:45-14:45; Angel One's notice: cash 14 min, F&O 11 min before the end.
    assert first_due_minute("2025-10-21", CASH) == "14:31"
    assert first_due_minute("2025-10-21", FNO) == "14:34"


def test_the_fno_cutoff_stays_at_its_clock_time_when_fno_trades_to_1540() -> None:
    # Whether Angel One moved it after 2026-08-03 is unconfirmed (§2.4); the rule keeps 15:20.
    assert first_due_minute("2026-08-03", FNO) == "15:20"


def test_a_dated_rule_changes_the_cutoff_from_its_date_only() -> None:
    later = SquareOffRule(
        Broker.ANGEL_ONE,
        CASH,
        dt.date(2026, 8, 3),
        dt.time(15, 10),
        20,
        confirmed=False,
        source="test",
    )
    schedule = SquareOffSchedule().with_rule(later)
    assert first_due_minute("2026-07-31", CASH, schedule=schedule) == "15:15"
    assert first_due_minute("2026-08-03", CASH, schedule=schedule) == "15:10"
    assert schedule.rule_for(dt.date(2026, 8, 3), CASH, Broker.ANGEL_ONE) is later


def test_with_rule_replaces_a_rule_of_the_same_broker_segment_and_date() -> None:
    old = SquareOffSchedule().rule_for(dt.date(2025, 6, 3), CASH, Broker.ZERODHA)
    schedule = SquareOffSchedule().with_rule(dataclasses.replace(old, cutoff=dt.time(15, 0)))
    assert first_due_minute("2025-06-03", CASH, Broker.ZERODHA, schedule=schedule) == "15:00"
    assert len(schedule.rules) == len(DEFAULT_SQUAREOFF_RULES)


def test_two_rules_taking_effect_the_same_day_are_refused() -> None:
    rule = DEFAULT_SQUAREOFF_RULES[0]
    with pytest.raises(ConfigError, match="same day"):
        SquareOffSchedule([rule, dataclasses.replace(rule, cutoff=dt.time(15, 0))])


def test_a_broker_without_rules_is_a_config_error() -> None:
    angel_only = SquareOffSchedule(
        r for r in DEFAULT_SQUAREOFF_RULES if r.broker is Broker.ANGEL_ONE
    )
    with pytest.raises(ConfigError, match="none for zerodha/CASH"):
        squareoff_due(ns("2025-06-03", "15:30"), CASH, Broker.ZERODHA, schedule=angel_only)


def test_a_negative_lead_before_the_close_is_refused() -> None:
    with pytest.raises(ConfigError, match="negative"):
        dataclasses.replace(DEFAULT_SQUAREOFF_RULES[0], minutes_before_close=-1)


def test_broker_names_parse_from_settings_text() -> None:
    assert Broker("angelone") is Broker.ANGEL_ONE
    assert Broker("zerodha") is Broker.ZERODHA
