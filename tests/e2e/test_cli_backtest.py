"""The `algo-trading backtest` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from algo_trading.backtest import generate_bars, write_bars


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def bars_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "SBIN-EQ.csv"
    write_bars(generate_bars(5_000, symbol="SBIN-EQ", seed=11), path)
    return path


def test_backtest_json_last_line_carries_the_contract_fields(bars_csv: Path) -> None:
    result = run_cli(
        "backtest",
        "--strategy",
        "sma_crossover",
        "--data",
        str(bars_csv),
        "--quantity",
        "100",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("trades", "final_equity", "total_return", "sharpe", "max_drawdown", "bars"):
        assert key in payload
    assert payload["bars"] == 5_000
    assert payload["trades"] > 0


def test_unknown_strategy_is_one_line_and_exit_code_2(bars_csv: Path) -> None:
    result = run_cli("backtest", "--strategy", "no_such", "--data", str(bars_csv))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown strategy 'no_such'" in result.stderr
    assert "Traceback" not in result.stderr
