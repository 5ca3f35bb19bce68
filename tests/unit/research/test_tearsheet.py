"""The tearsheet's figures agree with the run they describe, and money reads as in India."""

from __future__ import annotations

import math

import pytest

from algo_trading.backtest import build_strategy, generate_bars, metrics_of
from algo_trading.domain.money import format_rupees as inr
from algo_trading.research.evaluate import BacktestSpec, run_one
from algo_trading.research.tearsheet import tearsheet_data, tearsheet_html


@pytest.mark.parametrize(
    ("paise", "shown"),
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (99_999, "₹999.99"),
        (100_000, "₹1,000.00"),
        (12_345_678_90, "₹1,23,45,678.90"),
        (-1_000_000_000_00, "-₹1,00,00,00,000.00"),
    ],
)
def test_rupees_are_grouped_in_lakhs_and_crores(paise: int, shown: str) -> None:
    assert inr(paise) == shown


@pytest.fixture(scope="module")
def run_and_data():  # type: ignore[no-untyped-def]
    series = generate_bars(6_000, symbol="SBIN", seed=3)
    done = run_one(
        BacktestSpec("sma_crossover", fixed_params={"fast": "5", "slow": "20"}), [series], {}
    )
    assert build_strategy  # the same builder the CLI uses
    return done, tearsheet_data(done.run, metrics_of(done.run), {"k": 1}, done.charged)


def test_monthly_returns_compound_to_the_total_return(run_and_data) -> None:  # type: ignore[no-untyped-def]
    _, data = run_and_data
    growth = math.prod(1 + r for r in data["monthly_returns"].values())
    assert growth - 1 == pytest.approx(data["metrics"]["total_return"], abs=1e-12)
    yearly = math.prod(1 + r for r in data["yearly_returns"].values())
    assert yearly == pytest.approx(growth, abs=1e-12)


def test_charges_by_kind_add_up_to_the_charges_paid(run_and_data) -> None:  # type: ignore[no-untyped-def]
    done, data = run_and_data
    assert done.charged, "charges are on by default"
    assert sum(data["charges_by_kind_paise"].values()) == done.run.charges_paise


def test_every_closed_trade_is_listed_with_its_net(run_and_data) -> None:  # type: ignore[no-untyped-def]
    done, data = run_and_data
    assert len(data["trades"]) == len(done.run.round_trips)
    assert sum(t["net_paise"] for t in data["trades"]) == sum(
        t.pnl_paise - t.charges_paise for t in done.run.round_trips
    )


def test_the_html_is_one_self_contained_file(run_and_data) -> None:  # type: ignore[no-untyped-def]
    _, data = run_and_data
    page = tearsheet_html(data, "SMA <test>")
    assert page.startswith("<!DOCTYPE html>")
    assert "SMA &lt;test&gt;" in page
    assert "<script src=" not in page.replace('<script src="data:', "")  # no network fetch
    for title in (
        "Equity",
        "Drawdown",
        "Monthly returns",
        "Rolling Sharpe",
        "Charges paid by kind",
    ):
        assert title in page
