"""The command's defaults as a newcomer meets them (issue #9, points 9 and 10): generated data
is a driftless walk inside NSE's sessions, `--allow-off-session` is the way past the session
check, `--json` keeps parameter types, `strategies` prints whole descriptions, and no help text
cites a document the repository does not have."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from algo_trading.adapters.history import load_bars
from algo_trading.backtest import generate_bars
from algo_trading.cli.main import cli
from algo_trading.domain.instruments import Exchange
from algo_trading.market.calendar import calendar_for
from algo_trading.strategy import BUILTIN_STRATEGIES

REPO = Path(__file__).resolve().parents[2]
OFF_SESSION_CSV = (
    "timestamp,open,high,low,close,volume\n"
    "2025-01-02T09:15:00+05:30,100.00,101.00,99.00,100.50,10\n"
    "2025-01-02T09:16:00+05:30,100.50,101.50,100.00,101.00,20\n"
    "2025-01-04T10:00:00+05:30,101.00,102.00,100.50,101.50,30\n"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("defaults")
    (folder / "off.csv").write_text(OFF_SESSION_CSV, encoding="utf-8")
    jobs = {
        "generate": ("generate-data", "--out", str(folder / "GEN.csv"), "--bars", "3000"),
        "strategies": ("strategies",),
        "off-allowed": (
            "backtest",
            "--strategy",
            "sma_crossover",
            "--data",
            str(folder / "off.csv"),
            "--allow-off-session",
        ),
        "typed-json": (
            "backtest",
            "--strategy",
            "supertrend",
            "--param",
            "multiplier=2.5",
            "--data",
            str(folder / "off.csv"),
            "--allow-off-session",
            "--json",
        ),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, *args) for name, args in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    results["folder"] = subprocess.CompletedProcess([], 0, str(folder), "")
    return results


def test_generate_data_defaults_to_a_driftless_walk_inside_nses_sessions(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert runs["generate"].returncode == 0, runs["generate"].stderr
    path = Path(runs["folder"].stdout) / "GEN.csv"

    [loaded] = load_bars(path, calendar=calendar_for(Exchange.NSE))  # refuses off-session bars

    driftless = generate_bars(3_000, start=dt.date(2025, 1, 1), trend_ticks=0)
    assert np.array_equal(loaded.ts_ns, driftless.ts_ns)
    assert np.array_equal(loaded.close, driftless.close)


def test_allow_off_session_accepts_what_the_check_refuses_and_the_report_says_so(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["off-allowed"]

    assert result.returncode == 0, result.stderr
    assert re.search(r"^Sessions +not checked \(--allow-off-session\)$", result.stdout, re.M)


def test_json_reports_parameters_with_their_types(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["typed-json"]

    assert result.returncode == 0, result.stderr
    params = json.loads(result.stdout.strip().splitlines()[-1])["params"]
    assert params == {"period": 10, "multiplier": 2.5, "allow_short": False}


def _descriptions(text: str) -> dict[str, str]:
    """name -> description, joined over its wrapped lines (parameters are indented by 4)."""
    out: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        if not line.startswith(" "):
            name, _, first = line.partition(": ")
            out[name] = first
        elif not line.startswith("    "):
            out[name] += " " + line.strip()
    return out


def test_strategies_prints_each_whole_first_paragraph(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert runs["strategies"].returncode == 0
    described = _descriptions(runs["strategies"].stdout)

    assert set(described) == set(BUILTIN_STRATEGIES)
    for name, cls in BUILTIN_STRATEGIES.items():
        doc = sys.modules[cls.__module__].__doc__ or ""
        paragraph = " ".join(doc.strip().split("\n\n")[0].split())
        assert described[name] == paragraph
        assert described[name].endswith("."), described[name]
    assert all(len(line) <= 100 for line in runs["strategies"].stdout.splitlines())


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_no_help_text_cites_a_document_the_repository_does_not_have() -> None:
    runner = CliRunner()
    for path in _commands(cli):
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        # documents (.md) and source paths (a/b.py); FILE.py in a usage line is a placeholder
        cited_files = re.findall(r"[\w./-]+\.md\b|[\w.-]+/[\w./-]+\.py\b", result.output)
        for cited in cited_files:
            assert (REPO / cited).exists() or (REPO / "src" / cited).exists(), (path, cited)
