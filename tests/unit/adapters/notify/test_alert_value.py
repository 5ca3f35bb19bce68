"""The Alert value of engine/ports.py: one line, a stable code, scope as the identity."""

from __future__ import annotations

import pytest

from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity


def test_a_multi_line_text_becomes_one_line() -> None:
    alert = Alert(
        AlertCode.STRATEGY_ERROR,
        AlertSeverity.WARNING,
        "strategy 'sma' raised:\n  ZeroDivisionError\tdivision by zero",
        ts_ns=1,
    )
    assert alert.text == "strategy 'sma' raised: ZeroDivisionError division by zero"


@pytest.mark.parametrize("code", ["", "x", "feed stale", "FEED-STALE", "A" * 65])
def test_a_code_that_is_not_upper_snake_is_a_bug_in_the_caller(code: str) -> None:
    with pytest.raises(ValueError, match="alert code"):
        Alert(code, AlertSeverity.INFO, "text", ts_ns=1)


def test_an_empty_text_is_a_bug_in_the_caller() -> None:
    with pytest.raises(ValueError, match="text is empty"):
        Alert("FEED_STALE", AlertSeverity.INFO, " \n ", ts_ns=1)


def test_code_and_scope_make_the_key_and_the_text_and_time_do_not() -> None:
    a = Alert("FEED_STALE", AlertSeverity.WARNING, "no tick for 30 s", 1, symbol="SBIN-EQ")
    b = Alert("FEED_STALE", AlertSeverity.CRITICAL, "no tick for 90 s", 2, symbol="SBIN-EQ")
    c = Alert("FEED_STALE", AlertSeverity.WARNING, "no tick for 30 s", 1, symbol="INFY-EQ")
    assert a.key == b.key
    assert a.key != c.key
    assert a.scope == "symbol=SBIN-EQ"


def test_details_are_copied_so_the_callers_dict_cannot_change_a_sent_alert() -> None:
    details = {"loss": "5000"}
    alert = Alert("RISK_BREACH", AlertSeverity.CRITICAL, "daily loss", 1, details=details)
    details["loss"] = "0"
    assert alert.details == {"loss": "5000"}


def test_detail_values_are_kept_as_text() -> None:
    alert = Alert("RISK_BREACH", AlertSeverity.CRITICAL, "loss", 1, details={"loss_paise": 512000})  # type: ignore[dict-item]
    assert alert.details == {"loss_paise": "512000"}
