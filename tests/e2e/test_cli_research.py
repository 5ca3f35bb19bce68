"""`algo-trading optimize`, `walk-forward` and `tearsheet` as a user meets them: real processes,
real files. A mistake is one `error:` line naming it and exit code 2; a good run ranks, reports
and writes what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from algo_trading.backtest import generate_bars, write_bars

ARTEFACTS = Path(os.environ.get("ALGO_TEST_ARTEFACTS", "var/test-artefacts"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("research") / "SBIN.csv"
    write_bars(generate_bars(3_000, symbol="SBIN", seed=5), path)
    return path


BAD = [
    (("--space", "fast=9:3"), "reversed"),
    (("--space", "fast=3:3:0"), "step must be positive"),
    (("--space", "speed=1:3"), "no parameter 'speed'"),
    (("--space", "fast=1:3", "--objective", "luck"), "--objective 'luck' is unknown"),
    (("--space", "fast=1:3", "--backend", "cloud"), "--backend 'cloud' is unknown"),
    (("--space", "fast=1:3", "--backend", "ray", "--ray-address", "127.0.0.1:9"), "unreachable"),
    (("--space", "fast=1:3", "--constraint", "fast<slow"), "'slow' is not a searched parameter"),
    (("--space", "fast=1:3", "--method", "anneal"), "--method 'anneal' is unknown"),
    (("--space", "fast=1:3", "--trials", "0"), "--trials 0 must be positive"),
    (("--space", "fast=1:3", "--engine", "gpu"), "--engine 'gpu' is not one of"),
]


def test_bad_input_is_one_line_and_exit_code_2(bars: Path) -> None:
    def one(case: tuple[tuple[str, ...], str]) -> tuple[str, subprocess.CompletedProcess[str]]:
        args, says = case
        return says, run_cli(
            "optimize",
            "--strategy",
            "sma_crossover",
            "--data",
            str(bars),
            "--backend",
            "sequential",
            *args,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, BAD))
    for says, done in results:
        assert done.returncode == 2, (says, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: ")
        assert says in lines[0]
        assert "Traceback" not in done.stderr


def test_walk_forward_with_too_little_data_says_so(bars: Path) -> None:
    done = run_cli(
        "walk-forward",
        "--strategy",
        "sma_crossover",
        "--data",
        str(bars),
        "--space",
        "fast=3:5",
        "--train-days",
        "50",
        "--test-days",
        "20",
        "--backend",
        "sequential",
    )
    assert done.returncode == 2
    assert "fewer than one window" in done.stderr


def test_optimize_ranks_every_grid_point_by_the_objective(bars: Path) -> None:
    done = run_cli(
        "optimize",
        "--strategy",
        "sma_crossover",
        "--data",
        str(bars),
        "--space",
        "fast=3:9:3",
        "--space",
        "slow=20:30:10",
        "--constraint",
        "fast<slow",
        "--objective",
        "return",
        "--backend",
        "local",
        "--workers",
        "2",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    trials = json.loads(done.stdout)
    assert len(trials) == 6
    values = [t["value"] for t in trials]
    assert values == sorted(values, reverse=True)
    for t in trials:
        assert t["value"] == pytest.approx(t["metrics"]["total_return"])


def test_optimize_says_which_path_evaluated_and_both_paths_rank_alike(bars: Path) -> None:
    args = ["optimize", "--strategy", "sma_crossover", "--data", str(bars)]
    args += ["--space", "fast=3:9:3", "--space", "slow=20:30:10", "--constraint", "fast<slow"]
    args += ["--objective", "return", "--backend", "sequential"]
    fast, slow = run_cli(*args), run_cli(*args, "--engine", "event")
    assert fast.returncode == 0, fast.stderr
    assert slow.returncode == 0, slow.stderr
    assert "evaluated: 6 vectorised" in fast.stdout
    assert "evaluated: 6 event-driven (the event-driven engine was asked for)" in slow.stdout
    ranking = [line for line in fast.stdout.splitlines() if "return=" in line]
    assert len(ranking) == 6
    assert ranking == [line for line in slow.stdout.splitlines() if "return=" in line]


def test_walk_forward_reports_each_window_and_the_gap(bars: Path) -> None:
    done = run_cli(
        "walk-forward",
        "--strategy",
        "sma_crossover",
        "--data",
        str(bars),
        "--space",
        "fast=3:6:3",
        "--space",
        "slow=20:30:10",
        "--train-days",
        "4",
        "--test-days",
        "2",
        "--backend",
        "sequential",
        "--objective",
        "return",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["windows"]) >= 2
    for w in result["windows"]:
        assert w["window"]["test_start"] > w["window"]["train_end"]
    assert result["equity_final_paise"] is not None


def test_a_tearsheet_renders_in_headless_chromium_without_console_errors(
    bars: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.html"
    done = run_cli(
        "tearsheet",
        "--strategy",
        "sma_crossover",
        "--data",
        str(bars),
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(data["config"]["data_fingerprint"]) == 64
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(out.as_uri())
            page.wait_for_selector(".plotly-graph-div", timeout=30_000)
            assert page.locator(".plotly-graph-div").count() == 8
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "tearsheet.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []


def test_a_missing_option_is_one_line_too(bars: Path) -> None:
    done = run_cli("optimize", "--data", str(bars), "--space", "fast=1:3")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: Missing option '--strategy'."]
