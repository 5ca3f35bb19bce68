"""Trading reports: the periods, the figures, and where they are written."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.research.reports import build_report, period_of, render_html, write_report

UTC = dt.UTC


def trade(strategy: str, symbol: str, pnl: int, charges: int, hour: int = 5) -> dict[str, object]:
    return {
        "strategy": strategy,
        "symbol": symbol,
        "side": "SELL" if pnl else "BUY",
        "quantity": 10,
        "pnl": pnl,
        "charges": charges,
        "executed_at": dt.datetime(2026, 12, 1, hour, 0, tzinfo=UTC),
    }


def test_periods_are_the_ist_day_the_iso_week_and_the_month() -> None:
    day = dt.date(2026, 12, 2)  # a Wednesday
    assert period_of("daily", day).label == "2026-12-02"
    week = period_of("weekly", day)
    assert (week.first, week.last, week.label) == (
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 6),
        "2026-W49",
    )
    month = period_of("monthly", day)
    assert (month.first, month.last, month.label) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 31),
        "2026-12",
    )
    start, end = period_of("daily", day).bounds_utc()
    assert start == dt.datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # 00:00 IST
    assert end - start == dt.timedelta(days=1)
    with pytest.raises(ConfigError, match="--kind 'hourly' is unknown"):
        period_of("hourly", day)


def test_the_figures_add_up_by_strategy_and_by_symbol() -> None:
    rows = [
        trade("sma", "SBIN-EQ", 0, 20),
        trade("sma", "SBIN-EQ", 5_000, 40),
        trade("rsi", "INFY-EQ", 0, 25),
        trade("rsi", "INFY-EQ", -3_000, 45),
        trade("rsi", "TCS-EQ", 1_000, 30),
    ]
    refusals = [
        {"decision_code": "MAX_OPEN_ORDERS"},
        {"decision_code": "MAX_OPEN_ORDERS"},
        {"decision_code": "KILL_SWITCH"},
    ]
    report = build_report(period_of("daily", dt.date(2026, 12, 1)), rows, refusals)
    assert report["pnl_paise"] == 3_000
    assert report["charges_paise"] == 160
    assert report["net_paise"] == 2_840
    assert report["by_strategy"]["sma"]["net_paise"] == 4_940
    assert report["by_strategy"]["rsi"]["net_paise"] == -2_100
    assert sum(v["net_paise"] for v in report["by_symbol"].values()) == report["net_paise"]
    assert report["closed_trades"] == 3
    assert report["win_rate"] == pytest.approx(2 / 3)
    assert [w["net_paise"] for w in report["biggest_winners"]] == [4_960, 970]
    assert [w["net_paise"] for w in report["biggest_losers"]] == [-3_045]
    assert report["risk_events"] == {"KILL_SWITCH": 1, "MAX_OPEN_ORDERS": 2}
    assert report["biggest_winners"][0]["executed_at"] == "2026-12-01T10:30:00+05:30"


def test_an_empty_period_says_so_and_is_written_idempotently() -> None:
    report = build_report(period_of("monthly", dt.date(2026, 11, 3)), [], [])
    assert report["win_rate"] is None
    page = render_html(report)
    assert "No trades in this period." in page
    store: dict[str, bytes] = {}
    keys = write_report(store.__setitem__, report)
    assert keys == ["reports/monthly/2026-11.json", "reports/monthly/2026-11.html"]
    first = dict(store)
    write_report(store.__setitem__, report)
    assert store == first
    assert json.loads(store[keys[0]])["period"] == "2026-11"
