"""`algo-trading backtest` given bad input, as a user meets it: a real process, real files.
Each mistake is one line on stderr starting with "error:", exit code 2, no traceback, and no
output left behind (issue #2, point 7).

The processes start together in one fixture: each spends most of its time importing, so running
them side by side keeps the module fast."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from algo_trading.backtest import generate_bars, write_bars


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    facts: tuple[str, ...]  # what the error line must name; {dir} is the work folder


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


STRATEGY_FILES = {
    "syntax.py": "x = 1\ndef broken(:\n    pass\n",
    "helpers.py": "class NotAStrategy:\n    pass\n",
    "import_fails.py": "import math\nraise RuntimeError('model file missing')\n",
    "on_bar_fails.py": """
        from algo_trading.strategy import Strategy


        class Fragile(Strategy):
            name = "fragile"

            def on_start(self):
                self.bars_seen = 0

            def on_bar(self, bar):
                self.bars_seen += 1
                if self.bars_seen == 3:
                    raise ZeroDivisionError("third bar")
        """,
}


def sma(*extra: str) -> tuple[str, ...]:
    return ("--strategy", "sma_crossover", "--data", "{dir}/SBIN.csv", *extra)


def with_data(data: str, *extra: str) -> tuple[str, ...]:
    return ("--strategy", "sma_crossover", "--data", data, *extra)


BAD = {
    "unknown-parameter": Case(
        sma("--param", "fsat=5"), ("'fsat'", "known: fast, slow, allow_short")
    ),
    "int-parameter-not-a-number": Case(sma("--param", "fast=abc"), ("fast='abc'", "integer")),
    "bool-parameter-not-a-bool": Case(
        sma("--param", "allow_short=maybe"), ("allow_short='maybe'", "true or false")
    ),
    "fast-not-below-slow": Case(
        sma("--param", "fast=30", "--param", "slow=10"), ("sma_crossover", "fast (30)", "(10)")
    ),
    "param-without-equals": Case(sma("--param", "fast"), ("--param 'fast'", "KEY=VALUE")),
    "quantity-zero": Case(sma("--quantity", "0"), ("--quantity 0",)),
    "cash-negative": Case(sma("--cash", "-5"), ("--cash -5", "positive")),
    "cash-finer-than-a-paisa": Case(sma("--cash", "1.234"), ("--cash", "'1.234'", "paisa")),
    "strategy-file-syntax-error": Case(
        ("--strategy", "{dir}/syntax.py", "--data", "{dir}/SBIN.csv"),
        ("{dir}/syntax.py, line 2", "syntax error"),
    ),
    "strategy-file-without-strategy": Case(
        ("--strategy", "{dir}/helpers.py", "--data", "{dir}/SBIN.csv"),
        ("{dir}/helpers.py", "no Strategy subclass"),
    ),
    "strategy-file-raises-at-import": Case(
        ("--strategy", "{dir}/import_fails.py", "--data", "{dir}/SBIN.csv"),
        ("{dir}/import_fails.py, line 2", "RuntimeError", "model file missing"),
    ),
    "strategy-raises-in-on-bar": Case(
        (
            "--strategy",
            "{dir}/on_bar_fails.py",
            "--data",
            "{dir}/SBIN.csv",
            "--out",
            "{dir}/out-on-bar",
        ),
        ("'fragile'", "on_bar", "2024-01-01T09:17:00+05:30", "ZeroDivisionError: third bar"),
    ),
    "data-bad-row": Case(
        with_data("{dir}/bad_row.csv", "--out", "{dir}/out-bad-row"),
        ("{dir}/bad_row.csv", "line 4", "high 99.50 is below low 100.00"),
    ),
    "data-binary-garbage": Case(with_data("{dir}/garbage.csv"), ("{dir}/garbage.csv",)),
    "data-unknown-symbol": Case(
        with_data("{dir}/multi.csv", "--symbol", "WIPRO"), ("'WIPRO'", "TCS, INFY")
    ),
    "out-cannot-be-created": Case(sma("--out", "{dir}/SBIN.csv/results"), ("--out",)),
}

GOOD = {
    "writes-out": sma("--out", "{dir}/out-good"),
}


def write_inputs(folder: Path) -> None:
    write_bars(generate_bars(2_000, symbol="SBIN", seed=3), folder / "SBIN.csv")
    for name, source in STRATEGY_FILES.items():
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
    header = "timestamp,open,high,low,close,volume\n"
    (folder / "bad_row.csv").write_text(
        header
        + "2025-01-02T09:15:00+05:30,100.00,101.00,99.00,100.50,10\n"
        + "2025-01-02T09:16:00+05:30,100.50,101.50,100.00,101.00,20\n"
        + "2025-01-02T09:17:00+05:30,100.50,99.50,100.00,100.00,20\n",
        encoding="utf-8",
    )
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 16)
    (folder / "multi.csv").write_text(
        "timestamp,symbol,open,high,low,close,volume\n"
        + "2025-01-02T09:15:00+05:30,TCS,100.00,100.00,100.00,100.00,1\n"
        + "2025-01-02T09:15:00+05:30,INFY,100.00,100.00,100.00,100.00,1\n",
        encoding="utf-8",
    )
    (folder / "out-bad-row").mkdir()  # exists and empty before the failing run


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad-input")
    write_inputs(folder)
    return folder


@pytest.fixture(scope="module")
def results(work: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    jobs = {name: case.args for name, case in BAD.items()} | GOOD
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {
            name: pool.submit(run_cli, "backtest", *(a.format(dir=work) for a in args))
            for name, args in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_error_line_and_exit_code_2(
    results: dict[str, subprocess.CompletedProcess[str]], work: Path, name: str
) -> None:
    result = results[name]

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("\n")
    assert result.stderr[:-1].isprintable()
    for fact in BAD[name].facts:
        assert fact.format(dir=work) in result.stderr


def test_a_run_that_fails_in_strategy_code_leaves_no_output_folder(
    results: dict[str, subprocess.CompletedProcess[str]], work: Path
) -> None:
    assert results["strategy-raises-in-on-bar"].returncode == 2
    assert not (work / "out-on-bar").exists()


def test_a_run_that_fails_on_data_leaves_an_existing_output_folder_empty(
    results: dict[str, subprocess.CompletedProcess[str]], work: Path
) -> None:
    assert results["data-bad-row"].returncode == 2
    assert list((work / "out-bad-row").iterdir()) == []


def test_a_good_run_writes_every_output_file_and_no_partial_ones(
    results: dict[str, subprocess.CompletedProcess[str]], work: Path
) -> None:
    # the counterpart of the two tests above: the same --out does get files on success
    assert results["writes-out"].returncode == 0, results["writes-out"].stderr
    assert sorted(p.name for p in (work / "out-good").iterdir()) == [
        "equity.csv",
        "fills.csv",
        "orders.csv",
        "summary.json",
        "trades.csv",
    ]
